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

// An order form that knows it was sent. The form's key (its idempotency key)
// belongs to its first drawing: the page keeps it in its history entry, so
// when Back shows the form again, even drawn anew by the server, it carries
// the same key, and sending it again lands on the order already made instead
// of making a second one. Such a form also says that it was sent, with a
// link to the order (asked of `data-once`, the key in place of KEY).
(function () {
  function onceForm() {
    return document.querySelector("form[data-once]");
  }

  function restore() {
    var form = onceForm();
    if (!form) return;
    var input = form.querySelector("input[name=idempotency_key]");
    if (!input) return;
    var state = window.history.state || {};
    if (state.onceKey) {
      input.value = state.onceKey;
    } else {
      window.history.replaceState(Object.assign({}, state, { onceKey: input.value }), "");
    }
    if (!state.onceSent) return;
    var url = form.getAttribute("data-once").replace("KEY", encodeURIComponent(input.value));
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (sent) {
        if (!sent || !sent.url) return;
        var notice = form.querySelector("[data-sent-notice]");
        if (!notice) return;
        var link = notice.querySelector("[data-sent-link]");
        if (link) link.href = sent.url;
        notice.hidden = false;
      })
      .catch(function () {});
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-once")) return;
    var input = form.querySelector("input[name=idempotency_key]");
    var state = window.history.state || {};
    window.history.replaceState(
      Object.assign({}, state, { onceKey: input ? input.value : state.onceKey, onceSent: true }), ""
    );
  });

  // On every showing of the page: a first load, a new drawing after Back, or
  // the same page restored whole from the back-forward cache.
  window.addEventListener("pageshow", restore);
})();
