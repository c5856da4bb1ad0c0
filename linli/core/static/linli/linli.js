// The site's own script (the Content-Security-Policy allows no inline one).

// The language switch keeps where you are. htmx may have changed the address
// (a filter, a search, a page of results) since the page was drawn, so the
// form's `next` is taken from the address bar when it is sent.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("lang")) return;
  var next = form.querySelector("input[name=next]");
  if (next) next.value = window.location.pathname + window.location.search;
}, true);
