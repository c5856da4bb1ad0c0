/* Successive shortest paths from a nearly optimal flow (see
 * linli.dispatch.engine._repair, which builds the network and checks the
 * result).
 *
 * The network is a list of arcs (tail, head, cost, capacity, flow); the
 * residual network has, per arc, a forward arc with the capacity left and
 * a reverse one (cost -cost) with the flow.  ``pi`` holds node potentials
 * under which every residual arc has a reduced cost
 * cost + pi[tail] - pi[head] >= 0 (up to rounding, read as 0).  ``excess``
 * is > 0 where units wait to be sent and < 0 where they are missing; the
 * two sum to 0.
 *
 * Each unit of excess, in node order, goes along a shortest path (Dijkstra
 * from that one node, stopping at the first node short of units) and the
 * potentials are updated so that reduced costs stay >= 0 and the path's are
 * 0.  That is the classical successive-shortest-path algorithm; started from
 * an optimal flow that a few new arcs disturbed, it moves only the units
 * the new arcs affect, where a solver started from scratch moves them all.
 *
 * repair(tail, head, cost, cap, flow, pi, excess, max_visits)
 *   -> (units sent, nodes visited)
 * units sent is -1 when a unit cannot reach a node short of units (the
 * caller's network is wrong), -2 when ``max_visits`` node visits were not
 * enough (the caller solves another way).  ``pi`` and ``excess`` are
 * updated in place, and ``flow`` too when it succeeds.  The GIL is
 * released while it runs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double d;
    int64_t v;
} item;

static void heap_push(item *h, int64_t *n, double d, int64_t v)
{
    int64_t i = (*n)++;
    while (i > 0) {
        int64_t p = (i - 1) / 2;
        if (h[p].d <= d)
            break;
        h[i] = h[p];
        i = p;
    }
    h[i].d = d;
    h[i].v = v;
}

static item heap_pop(item *h, int64_t *n)
{
    item top = h[0];
    item last = h[--(*n)];
    int64_t i = 0;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1].d < h[c].d)
            c++;
        if (h[c].d >= last.d)
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = last;
    return top;
}

typedef struct {
    double cost;
    int32_t head;
    int32_t cap;
} arc;

/* returns units sent, -1 (stuck), -2 (over budget), -3 (out of memory) or
 * -4 (too big for 32-bit node numbers and capacities) */
static int64_t ssp(int64_t n, int64_t k, const int64_t *tail, const int64_t *head,
                   const double *cost, const int64_t *cap, int64_t *flow, double *pi,
                   int64_t *excess, int64_t max_visits, int64_t *visits_out)
{
    *visits_out = 0;
    if (n >= INT32_MAX || 2 * k >= INT32_MAX)
        return -4;
    for (int64_t i = 0; i < k; i++)
        if (tail[i] < 0 || tail[i] >= n || head[i] < 0 || head[i] >= n || cap[i] >= INT32_MAX ||
            flow[i] < 0 || flow[i] > cap[i])
            return -4;
    /* residual arcs in CSR order (a counting sort by tail): arc i forward
     * at pos[i], its reverse at pos[k + i] */
    int64_t *indptr = calloc((size_t)n + 1, sizeof(int64_t));
    int64_t *pos = malloc((size_t)(2 * k + 1) * sizeof(int64_t));
    int32_t *rev = malloc((size_t)(2 * k + 1) * sizeof(int32_t));
    arc *arcs = malloc((size_t)(2 * k + 1) * sizeof(arc));
    double *dist = malloc((size_t)n * sizeof(double));
    int64_t *pred = malloc((size_t)n * sizeof(int64_t));
    char *done = calloc((size_t)n, 1);
    int64_t *touched = malloc((size_t)n * sizeof(int64_t));
    item *heap = malloc((size_t)(2 * k + 1) * sizeof(item));
    int64_t sent = 0, visits = 0, next = 0;
    if (!indptr || !pos || !rev || !arcs || !dist || !pred || !done || !touched || !heap) {
        sent = -3;
        goto out;
    }
    for (int64_t i = 0; i < k; i++) {
        indptr[tail[i]]++;
        indptr[head[i]]++;
    }
    for (int64_t v = 0, run = 0; v <= n; v++) {
        int64_t c = v < n ? indptr[v] : 0;
        indptr[v] = run;
        run += c;
    }
    /* fill: indptr[v] walks forward, then is shifted back */
    for (int64_t i = 0; i < k; i++) {
        int64_t f = indptr[tail[i]]++, r = indptr[head[i]]++;
        pos[i] = f;
        pos[k + i] = r;
        arcs[f].cost = cost[i];
        arcs[f].head = (int32_t)head[i];
        arcs[f].cap = (int32_t)(cap[i] - flow[i]);
        arcs[r].cost = -cost[i];
        arcs[r].head = (int32_t)tail[i];
        arcs[r].cap = (int32_t)flow[i];
        rev[f] = (int32_t)r;
        rev[r] = (int32_t)f;
    }
    for (int64_t v = n; v > 0; v--)
        indptr[v] = indptr[v - 1];
    indptr[0] = 0;
    for (int64_t v = 0; v < n; v++) {
        dist[v] = INFINITY;
        pred[v] = -1;
    }
    for (;;) {
        /* units only leave nodes with excess, so a scan pointer suffices */
        while (next < n && excess[next] <= 0)
            next++;
        if (next >= n)
            break;
        int64_t hn = 0, nt = 0, t = -1;
        double dt = 0.0;
        dist[next] = 0.0;
        touched[nt++] = next;
        heap_push(heap, &hn, 0.0, next);
        while (hn) {
            item it = heap_pop(heap, &hn);
            int64_t u = it.v;
            if (done[u] || it.d > dist[u])
                continue;
            done[u] = 1;
            visits++;
            if (excess[u] < 0) {
                t = u;
                dt = it.d;
                break;
            }
            double base = it.d + pi[u];
            const arc *end = arcs + indptr[u + 1];
            for (const arc *x = arcs + indptr[u]; x < end; x++) {
                if (x->cap <= 0)
                    continue;
                int64_t v = x->head;
                if (done[v])
                    continue;
                /* it.d + reduced cost, the reduced cost read as >= 0 */
                double nd = base + x->cost - pi[v];
                if (nd < it.d)
                    nd = it.d;
                if (nd < dist[v]) {
                    if (dist[v] == INFINITY)
                        touched[nt++] = v;
                    dist[v] = nd;
                    pred[v] = x - arcs;
                    if (excess[v] < 0 && nd <= it.d) {
                        /* nothing is nearer than the node being scanned:
                         * stop at once (a hub like the sink reaches many
                         * nodes at the same distance) */
                        t = v;
                        dt = nd;
                        break;
                    }
                    heap_push(heap, &hn, nd, v);
                }
            }
            if (t >= 0)
                break;
        }
        if (t < 0) {
            sent = -1;
            break;
        }
        /* reduced costs stay >= 0, and 0 along the path */
        for (int64_t i = 0; i < nt; i++) {
            int64_t v = touched[i];
            pi[v] += (dist[v] < dt ? dist[v] : dt) - dt;
        }
        int64_t v = t;
        while (pred[v] >= 0) {
            int64_t a = pred[v];
            arcs[a].cap -= 1;
            arcs[rev[a]].cap += 1;
            v = arcs[rev[a]].head;
        }
        excess[v] -= 1;
        excess[t] += 1;
        sent++;
        for (int64_t i = 0; i < nt; i++) {
            int64_t w = touched[i];
            dist[w] = INFINITY;
            pred[w] = -1;
            done[w] = 0;
        }
        if (visits > max_visits) {
            sent = -2;
            break;
        }
    }
    if (sent >= 0)
        for (int64_t i = 0; i < k; i++)
            flow[i] = arcs[pos[k + i]].cap; /* a reverse arc's capacity is the flow */
out:
    free(indptr);
    free(pos);
    free(rev);
    free(arcs);
    free(dist);
    free(pred);
    free(done);
    free(touched);
    free(heap);
    *visits_out = visits;
    return sent;
}

/* a C-contiguous 1-D buffer of 8-byte items: signed integers (kind 'i') or
 * doubles (kind 'd'), of length ``len`` (-1: any) */
static int get(PyObject *obj, Py_buffer *b, const char *name, char kind, Py_ssize_t len,
               int writable)
{
    int flags = PyBUF_FORMAT | PyBUF_ND | PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, b, flags) < 0)
        return 0;
    const char *f = b->format ? b->format : "B";
    char last = f[strlen(f) - 1];
    int ok_type = b->itemsize == 8 &&
                  (kind == 'd' ? last == 'd' : (last == 'q' || last == 'l'));
    if (!ok_type || b->ndim != 1) {
        PyErr_Format(PyExc_TypeError, "%s: expected a 1-D array of 8-byte %s", name,
                     kind == 'd' ? "floats" : "integers");
        PyBuffer_Release(b);
        return 0;
    }
    if (len >= 0 && b->shape[0] != len) {
        PyErr_Format(PyExc_ValueError, "%s: expected length %zd, got %zd", name, len,
                     b->shape[0]);
        PyBuffer_Release(b);
        return 0;
    }
    return 1;
}

static PyObject *repair(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *o[7];
    Py_buffer b[7];
    long long max_visits;
    int got = 0;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OOOOOOOL", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6],
                          &max_visits))
        return NULL;
    /* the arcs (tail, head, cost, cap, flow), then the nodes (pi, excess) */
    static const char *names[] = {"tail", "head", "cost", "cap", "flow", "pi", "excess"};
    static const char kinds[] = {'i', 'i', 'd', 'i', 'i', 'd', 'i'};
    static const int writable[] = {0, 0, 0, 0, 1, 1, 1};
    Py_ssize_t k = -1, n = -1;
    for (; got < 7; got++) {
        Py_ssize_t len = got == 0 ? -1 : got < 5 ? k : got == 5 ? -1 : n;
        if (!get(o[got], &b[got], names[got], kinds[got], len, writable[got]))
            goto done;
        if (got == 0)
            k = b[0].shape[0];
        if (got == 5)
            n = b[5].shape[0];
    }
    int64_t visits = 0, sent;
    Py_BEGIN_ALLOW_THREADS
    sent = ssp(n, k, b[0].buf, b[1].buf, b[2].buf, b[3].buf, b[4].buf, b[5].buf, b[6].buf,
               (int64_t)max_visits, &visits);
    Py_END_ALLOW_THREADS
    if (sent == -3)
        PyErr_NoMemory();
    else if (sent == -4)
        PyErr_SetString(PyExc_ValueError,
                        "repair: a node out of range, a flow outside [0, cap], or too big");
    else
        result = Py_BuildValue("LL", (long long)sent, (long long)visits);
done:
    for (int i = 0; i < got; i++)
        PyBuffer_Release(&b[i]);
    return result;
}

static PyMethodDef methods[] = {
    {"repair", repair, METH_VARARGS,
     "repair(tail, head, cost, cap, flow, pi, excess, max_visits) -> (units sent, visits)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_repair",
                                    "Successive shortest paths from a nearly optimal flow.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__repair(void) { return PyModule_Create(&module); }
