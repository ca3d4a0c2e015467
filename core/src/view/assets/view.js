/* corral view: draws the report from the JSON blocks of this page (docs/view.md).
 * Everything in the data is untrusted (agent output, model text, file names):
 * it reaches the page only as text nodes and textContent, and never as markup,
 * a URL or a style.  No network: the page's Content-Security-Policy forbids it. */
'use strict';
(function () {
  var R_TASK = 0, R_ATTEMPT = 1, R_REWARD = 2, R_PASSED = 3, R_ECLASS = 4, R_EPHASE = 5, R_EMSG = 6,
    R_CALLS = 7, R_EVENTS = 8, R_TIMES = 9, R_ID = 10, R_AGENT = 11;
  var FOLD_CHARS = 600, FOLD_LINES = 12, PAGE = 100, EVENTS_PAGE = 200;

  var app = document.getElementById('app'), nav = document.getElementById('nav');

  /* ---- building DOM: the only way anything reaches the page ---- */
  function el(tag, cls) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    for (var i = 2; i < arguments.length; i++) add(e, arguments[i]);
    return e;
  }
  function add(e, kid) {
    if (kid === null || kid === undefined || kid === false) return e;
    if (Array.isArray(kid)) { kid.forEach(function (k) { add(e, k); }); return e; }
    e.appendChild(typeof kid === 'object' ? kid : document.createTextNode(String(kid)));
    return e;
  }
  function button(cls, label, onclick) {
    var b = el('button', cls, label);
    b.type = 'button';
    b.addEventListener('click', onclick);
    return b;
  }
  var SVGNS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function go(hash) { if (location.hash === hash) route(); else location.hash = hash; }

  /* ---- numbers ---- */
  function fmt(x, d) {
    if (x === null || x === undefined || typeof x !== 'number' || !isFinite(x)) return '–';
    return d === undefined ? String(Math.round(x * 10000) / 10000) : x.toFixed(d);
  }
  function ms(x) {
    if (typeof x !== 'number' || !isFinite(x)) return '–';
    if (x >= 60000) return (x / 60000).toFixed(1) + ' min';
    if (x >= 1000) return (x / 1000).toFixed(x >= 10000 ? 0 : 1) + ' s';
    return Math.round(x) + ' ms';
  }
  function str(x) { return typeof x === 'string' ? x : x === null || x === undefined ? '' : JSON.stringify(x); }
  function obj(x) { return x !== null && typeof x === 'object' && !Array.isArray(x) ? x : {}; }
  function arr(x) { return Array.isArray(x) ? x : []; }

  /* ---- the data ---- */
  var IX;
  try {
    IX = JSON.parse(document.getElementById('corral-index').textContent);
  } catch (e) {
    app.textContent = 'This report\'s data could not be read: ' + e;
    return;
  }
  var S = obj(IX.run && IX.run.summary), TASKS = arr(S.per_task), ROWS = arr(IX.rows), PHASES = arr(IX.phases);
  var BASE = IX.base ? obj(IX.base.summary) : null;
  var taskRows = TASKS.map(function () { return []; });
  ROWS.forEach(function (r, i) { if (taskRows[r[R_TASK]]) taskRows[r[R_TASK]].push(i); });
  taskRows.forEach(function (l) {
    l.sort(function (a, b) { return (ROWS[a][R_ATTEMPT] || 0) - (ROWS[b][R_ATTEMPT] || 0); });
  });
  function rowState(r) { return r[R_ECLASS] !== null ? 'err' : r[R_PASSED] ? 'pass' : 'fail'; }
  function rowLabel(r) {
    return r[R_ECLASS] !== null ? 'error: ' + r[R_ECLASS] + ' in ' + r[R_EPHASE]
      : r[R_PASSED] ? 'passed, reward ' + fmt(r[R_REWARD]) : 'reward ' + fmt(r[R_REWARD]);
  }
  var detailCache = {};
  function detail(i) {
    if (detailCache[i]) return detailCache[i];
    var node = document.getElementById('d' + i);
    var d;
    try { d = node ? JSON.parse(node.textContent) : { r: null, cut: { missing: true } }; } catch (e) { d = { r: null, cut: { unreadable: String(e) } }; }
    detailCache[i] = d;
    return d;
  }

  /* ---- shared pieces ---- */
  function card(k, v) { return el('div', 'card', el('div', 'k', k), el('div', 'v', v)); }
  function kv(pairs) {
    var t = el('table', 'kv');
    pairs.forEach(function (p) { if (p[1] !== undefined && p[1] !== null && p[1] !== '') t.appendChild(el('tr', '', el('td', '', p[0]), el('td', '', p[1]))); });
    return t;
  }
  /* A text: as is when short, else folded, its <pre> made when first opened. */
  function text(s, label) {
    s = str(s);
    var lines = s.split('\n').length;
    if (s.length <= FOLD_CHARS && lines <= FOLD_LINES) return el('pre', '', s);
    var d = el('details', '');
    var first = s.slice(0, 120).split('\n')[0];
    d.appendChild(el('summary', '', (label ? label + ': ' : '') + first + ' … (' + s.length + ' characters, ' + lines + ' lines)'));
    d.addEventListener('toggle', function () { if (d.open && d.childNodes.length === 1) d.appendChild(el('pre', '', s)); });
    return d;
  }
  function json(x, label) { return text(JSON.stringify(x, null, 2), label); }
  function sortable(table, cols, data, draw) {
    var state = { key: null, dir: 1 };
    var tr = el('tr', '');
    cols.forEach(function (c) {
      var th = el('th', (c.num ? 'num ' : '') + (c.key ? 'sort' : ''), c.label);
      if (c.key) th.addEventListener('click', function () {
        state.dir = state.key === c.key ? -state.dir : (c.num ? -1 : 1);
        state.key = c.key;
        data.sort(function (a, b) {
          var x = c.key(a), y = c.key(b);
          if (x === y) return 0;
          if (x === null || x === undefined) return 1;
          if (y === null || y === undefined) return -1;
          return (x < y ? -1 : 1) * state.dir;
        });
        draw();
      });
      tr.appendChild(th);
    });
    table.appendChild(el('thead', '', tr));
  }

  /* ---- charts ---- */
  function histogram(values, opts) {
    var W = opts.width || 360, H = opts.height || 120, B = opts.bins || 10, pad = opts.label ? 22 : 0;
    var s = svg('svg', { width: W, height: H + pad, viewBox: '0 0 ' + W + ' ' + (H + pad), role: 'img' });
    s.appendChild(svg('title', {}, opts.title || ''));
    if (!values.length) { s.appendChild(svg('text', { x: 4, y: 16 }, 'no values')); return s; }
    var lo = Infinity, hi = -Infinity;
    values.forEach(function (v) { if (v < lo) lo = v; if (v > hi) hi = v; });
    var log = opts.log && lo >= 0;
    function tx(v) { return log ? Math.log10(v + 1) : v; }
    var a = tx(lo), b = tx(hi);
    if (b === a) b = a + 1;
    var counts = new Array(B).fill(0);
    values.forEach(function (v) { var k = Math.min(B - 1, Math.floor((tx(v) - a) / (b - a) * B)); counts[k]++; });
    var max = Math.max.apply(null, counts), bw = W / B;
    counts.forEach(function (c, k) {
      var h = c ? Math.max(1, c / max * (H - (opts.label ? 14 : 0))) : 0;
      var r = svg('rect', { x: k * bw + 1, y: H - h, width: Math.max(1, bw - 2), height: h, 'class': 'bar' + (opts.cls ? ' ' + opts.cls(k, B) : '') });
      r.appendChild(svg('title', {}, c + ' in bin ' + (k + 1)));
      s.appendChild(r);
      if (c && opts.label) s.appendChild(svg('text', { x: k * bw + bw / 2, y: H - h - 2, 'text-anchor': 'middle' }, c));
    });
    s.appendChild(svg('line', { x1: 0, y1: H, x2: W, y2: H, 'class': 'axis' }));
    if (opts.label) {
      s.appendChild(svg('text', { x: 0, y: H + 15 }, opts.label(lo)));
      s.appendChild(svg('text', { x: W, y: H + 15, 'text-anchor': 'end' }, opts.label(hi)));
    }
    return s;
  }
  function timingChart() {
    var t = el('table', '');
    t.appendChild(el('tr', '', el('th', '', 'phase'), el('th', 'num', 'n'), el('th', 'num', 'p50'), el('th', 'num', 'p90'),
      el('th', 'num', 'p99'), el('th', 'num', 'max'), el('th', '', 'distribution (log scale)')));
    var tm = obj(S.timings_ms);
    PHASES.forEach(function (ph, j) {
      var st = obj(tm[ph]), vals = [];
      ROWS.forEach(function (r) { var v = arr(r[R_TIMES])[j]; if (typeof v === 'number') vals.push(v); });
      t.appendChild(el('tr', 'phase', el('td', '', ph), el('td', 'num', fmt(st.n)), el('td', 'num', ms(st.p50)),
        el('td', 'num', ms(st.p90)), el('td', 'num', ms(st.p99)), el('td', 'num', ms(st.max)),
        el('td', '', histogram(vals, { width: 240, height: 16, bins: 40, log: true, title: ph + ' timings, log scale' }))));
    });
    return t;
  }

  /* ---- summary and the task table ---- */
  function countsTable(title, o) {
    var t = el('table', '', el('tr', '', el('th', '', title), el('th', 'num', 'rollouts')));
    var keys = Object.keys(obj(o));
    if (!keys.length) t.appendChild(el('tr', '', el('td', 'muted', 'none'), el('td', '', '')));
    keys.forEach(function (k) { t.appendChild(el('tr', '', el('td', '', k), el('td', 'num', fmt(o[k])))); });
    return t;
  }
  function summaryView() {
    var err = obj(S.errors), rw = obj(S.reward), pk = obj(S.pass_at_k);
    var root = el('div', '');
    root.appendChild(el('h1', '', str(IX.run.name)));
    var cards = el('div', 'cards', card('rollouts', fmt(S.rollouts)), card('tasks', fmt(S.tasks)),
      card('errors', fmt(err.total)), card('mean reward', fmt(rw.mean, 3)));
    Object.keys(pk).forEach(function (k) { cards.appendChild(card('pass@' + k, fmt(pk[k], 3))); });
    if (S.duplicates) cards.appendChild(card('duplicates replaced', fmt(S.duplicates)));
    root.appendChild(cards);
    arr(S.inputs).forEach(function (inp) {
      arr(inp.skipped).forEach(function (sk) {
        root.appendChild(el('div', 'note', 'skipped ' + str(inp.name) + ':' + sk.line + ': ' + str(sk.why)));
      });
    });
    /* errors by class x phase from the rows */
    var matrix = {}, phases = {};
    ROWS.forEach(function (r) {
      if (r[R_ECLASS] === null) return;
      var c = matrix[r[R_ECLASS]] = matrix[r[R_ECLASS]] || {};
      c[r[R_EPHASE]] = (c[r[R_EPHASE]] || 0) + 1;
      phases[r[R_EPHASE]] = 1;
    });
    var pl = Object.keys(phases);
    var m = el('table', 'errors', el('tr', '', el('th', '', 'class \\ phase'), pl.map(function (p) { return el('th', 'num', p); }), el('th', 'num', 'total')));
    Object.keys(matrix).forEach(function (c) {
      var tot = 0;
      m.appendChild(el('tr', '', el('td', '', c), pl.map(function (p) { tot += matrix[c][p] || 0; return el('td', 'num', matrix[c][p] || ''); }), el('td', 'num', tot)));
    });
    if (!pl.length) m.appendChild(el('tr', '', el('td', 'muted', 'no errors')));
    var rewards = [];
    ROWS.forEach(function (r) { if (typeof r[R_REWARD] === 'number') rewards.push(r[R_REWARD]); });
    root.appendChild(el('div', 'row',
      el('div', 'panel', el('h3', '', 'Errors by class and phase'), m),
      el('div', 'panel', el('h3', '', 'Reward (' + rewards.length + ' rewarded rollouts)'),
        histogram(rewards, { title: 'reward histogram', bins: 10, width: 300, height: 110, label: function (v) { return fmt(v); }, cls: function (k, B) { return k === B - 1 ? 'pass' : ''; } })),
      el('div', 'panel', el('h3', '', 'Time per phase'), timingChart())));
    root.appendChild(el('h2', '', 'Tasks'));
    root.appendChild(taskTable());
    return root;
  }

  function taskTable() {
    var wrap = el('div', 'panel');
    var name = el('input', '');
    name.type = 'search'; name.placeholder = 'filter by task name'; name.id = 'f-name';
    var outcome = el('select', '');
    outcome.id = 'f-outcome';
    [['', 'any outcome'], ['all', 'every attempt passed'], ['some', 'some passed'], ['none', 'none passed'], ['err', 'with errors']]
      .forEach(function (o) { var op = el('option', '', o[1]); op.value = o[0]; outcome.appendChild(op); });
    var minR = el('input', '');
    minR.type = 'number'; minR.step = 'any'; minR.placeholder = 'mean reward ≥'; minR.id = 'f-reward';
    var cls = el('select', '');
    cls.id = 'f-class';
    var anyc = el('option', '', 'any error class'); anyc.value = ''; cls.appendChild(anyc);
    Object.keys(obj(obj(S.errors).by_class)).forEach(function (c) { var op = el('option', '', c); op.value = c; cls.appendChild(op); });
    var count = el('span', 'muted');
    wrap.appendChild(el('div', 'filters', name, outcome, minR, cls, count));
    var baseBy = {};
    if (BASE) arr(BASE.per_task).forEach(function (t) { baseBy[t.digest] = t; });
    var data = TASKS.map(function (t, i) { return i; });
    var table = el('table', 'tasks');
    var cols = [
      { label: 'task', key: function (i) { return str(TASKS[i].name); } },
      { label: 'attempts', num: 1, key: function (i) { return TASKS[i].attempts; } },
      { label: 'passed', num: 1, key: function (i) { return TASKS[i].passed; } },
      { label: 'errors', num: 1, key: function (i) { return TASKS[i].errors; } },
      { label: 'mean reward', num: 1, key: function (i) { return TASKS[i].mean_reward; } }];
    if (BASE) cols.push({ label: 'Δ reward vs ' + str(IX.base.name), num: 1, key: function (i) { return delta(i); } });
    cols.push({ label: 'attempts (click one)' });
    function delta(i) {
      var b = baseBy[TASKS[i].digest];
      return b && typeof b.mean_reward === 'number' && typeof TASKS[i].mean_reward === 'number' ? TASKS[i].mean_reward - b.mean_reward : null;
    }
    var limit = PAGE, tbody = el('tbody', ''), more = el('div', 'filters');
    sortable(table, cols, data, draw);
    table.appendChild(tbody);
    wrap.appendChild(table);
    wrap.appendChild(more);
    function keep(i) {
      var t = TASKS[i], q = name.value.toLowerCase();
      if (q && str(t.name).toLowerCase().indexOf(q) < 0) return false;
      var o = outcome.value;
      if (o === 'all' && t.passed !== t.attempts) return false;
      if (o === 'some' && !(t.passed > 0)) return false;
      if (o === 'none' && t.passed !== 0) return false;
      if (o === 'err' && !(t.errors > 0)) return false;
      if (minR.value !== '' && !(typeof t.mean_reward === 'number' && t.mean_reward >= Number(minR.value))) return false;
      if (cls.value && !taskRows[i].some(function (r) { return ROWS[r][R_ECLASS] === cls.value; })) return false;
      return true;
    }
    function draw() {
      var shown = data.filter(keep);
      tbody.textContent = '';
      shown.slice(0, limit).forEach(function (i) {
        var t = TASKS[i];
        var chips = el('div', 'chips');
        taskRows[i].forEach(function (ri) {
          var r = ROWS[ri];
          var c = button('chip ' + rowState(r), '', function () { go('#r' + ri); });
          c.title = 'attempt ' + fmt(r[R_ATTEMPT]) + ': ' + rowLabel(r);
          chips.appendChild(c);
        });
        var d = BASE ? delta(i) : null;
        tbody.appendChild(el('tr', 'task',
          el('td', '', button('link', str(t.name), function () { go('#t' + i); })),
          el('td', 'num', fmt(t.attempts)), el('td', 'num', fmt(t.passed)), el('td', 'num', fmt(t.errors)),
          el('td', 'num reward', fmt(t.mean_reward, 3)),
          BASE ? el('td', 'num ' + (d > 0 ? 'delta-up' : d < 0 ? 'delta-down' : ''), d === null ? '–' : (d > 0 ? '+' : '') + fmt(d, 3)) : null,
          el('td', '', chips)));
      });
      count.textContent = shown.length + ' of ' + TASKS.length + ' tasks';
      more.textContent = '';
      if (shown.length > limit) more.appendChild(button('btn', 'show ' + Math.min(PAGE, shown.length - limit) + ' more', function () { limit += PAGE; draw(); }));
    }
    [name, minR].forEach(function (e) { e.addEventListener('input', function () { limit = PAGE; draw(); }); });
    [outcome, cls].forEach(function (e) { e.addEventListener('change', function () { limit = PAGE; draw(); }); });
    draw();
    return wrap;
  }

  /* ---- one task: its attempts ---- */
  function taskView(i) {
    var t = TASKS[i];
    var root = el('div', '', el('h1', '', 'Task ' + str(t.name)));
    root.appendChild(kv([['digest', str(t.digest)], ['attempts', fmt(t.attempts)], ['passed', fmt(t.passed)],
      ['errors', fmt(t.errors)], ['mean reward', fmt(t.mean_reward, 4)]]));
    var tb = el('table', 'attempts', el('tr', '', el('th', 'num', 'attempt'), el('th', '', 'outcome'), el('th', 'num', 'reward'),
      el('th', '', 'error'), el('th', 'num', 'model calls'), el('th', 'num', 'events'), el('th', 'num', 'total time'), el('th', '', 'rollout')));
    var ti = PHASES.indexOf('total');
    taskRows[i].forEach(function (ri) {
      var r = ROWS[ri];
      tb.appendChild(el('tr', '', el('td', 'num', fmt(r[R_ATTEMPT])), el('td', '', el('span', 'badge ' + rowState(r), rowState(r))),
        el('td', 'num', fmt(r[R_REWARD])), el('td', '', r[R_ECLASS] === null ? '' : [r[R_ECLASS] + ' in ' + r[R_EPHASE] + ': ', str(r[R_EMSG])]),
        el('td', 'num', fmt(r[R_CALLS])), el('td', 'num', fmt(r[R_EVENTS])), el('td', 'num', ti >= 0 ? ms(arr(r[R_TIMES])[ti]) : '–'),
        el('td', '', button('link', str(r[R_ID]), function () { go('#r' + ri); }))));
    });
    root.appendChild(el('div', 'panel', tb));
    return root;
  }

  /* ---- one rollout ---- */
  function commands(list) {
    list = arr(list);
    if (!list.length) return el('p', 'muted', 'none');
    return el('div', '', list.map(function (c, k) {
      c = obj(c);
      var cmd = typeof c.command === 'string' ? c.command : arr(c.argv).map(str).join(' ');
      return el('div', 'panel cmd', el('div', '', el('span', 'tag', '#' + (k + 1)), el('code', '', cmd)),
        el('div', 'muted', 'exit ' + str(c.exit_code) + ' · ' + ms(c.duration_ms) + (c.timed_out ? ' · timed out' : '')),
        c.stdout ? [el('h3', '', 'stdout'), text(c.stdout, 'stdout')] : null,
        c.stderr ? [el('h3', '', 'stderr'), text(c.stderr, 'stderr')] : null);
    }));
  }
  /* A message's content: a string, or parts (text, images, tool uses, ...). */
  function content(c) {
    if (typeof c === 'string') return text(c);
    if (c === null || c === undefined) return null;
    return arr(c).map(function (p) {
      p = obj(p);
      if (typeof p.text === 'string') return text(p.text);
      if (p.type === 'image_url' || p.type === 'image') return el('div', 'muted', '[image]');
      if (typeof p.thinking === 'string') return el('div', '', el('span', 'tag', 'thinking'), text(p.thinking));
      if (p.type === 'tool_use' || p.type === 'toolCall') return el('div', '', el('span', 'tool', '→ ' + str(p.name)), json(p.input !== undefined ? p.input : p.arguments));
      if (p.type === 'tool_result') return el('div', '', el('span', 'tag', 'tool result ' + str(p.tool_use_id)), content(p.content));
      return json(p);
    });
  }
  function toolCalls(tc) {
    return arr(tc).map(function (t) {
      t = obj(t);
      var f = obj(t.function), args = f.arguments;
      if (typeof args === 'string') { try { args = JSON.parse(args); } catch (e) { /* shown as it came */ } }
      return el('div', 'toolcall', el('span', 'tool', '→ ' + str(f.name || t.name)), el('span', 'muted', ' ' + str(t.id)),
        typeof args === 'string' ? text(args) : json(args));
    });
  }
  function message(m, cls) {
    m = obj(m);
    var role = str(m.role) || 'message';
    return el('div', 'msg ' + (cls || role.replace(/[^a-z]/g, '')),
      el('div', 'role', role, m.tool_call_id || m.name ? el('span', 'muted id', ' ' + str(m.tool_call_id || m.name)) : null),
      m.reasoning_content ? el('div', '', el('span', 'tag', 'reasoning'), text(m.reasoning_content)) : null,
      content(m.content), toolCalls(m.tool_calls));
  }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
  function calls(tr) {
    tr = arr(tr);
    if (!tr.length) return el('p', 'muted', 'no model calls recorded');
    var prev = [];
    return el('div', '', tr.map(function (c) {
      c = obj(c);
      var head = el('div', 'head', el('strong', '', 'call ' + (c.seq !== undefined ? '#' + str(c.seq) : '')));
      var body = el('div', 'body');
      var box = el('div', 'call', head, body);
      if (c.dropped !== undefined) { head.appendChild(el('span', 'note', str(c.dropped) + ' more calls were only counted (the gate\'s transcript limit)')); return box; }
      var resp = obj(c.response), choice = obj(arr(resp.choices)[0]), usage = obj(resp.usage);
      head.appendChild(el('span', 'tag', str(c.dialect) || 'call'));
      head.appendChild(el('span', '', 'HTTP ' + str(c.status)));
      head.appendChild(el('span', '', 'latency ' + ms(c.latency_ms)));
      var tok = [];
      if (usage.prompt_tokens !== undefined) tok.push(str(usage.prompt_tokens) + ' in');
      if (usage.completion_tokens !== undefined) tok.push(str(usage.completion_tokens) + ' out');
      head.appendChild(el('span', '', 'tokens ' + (tok.length ? tok.join(' / ') : 'not reported')));
      var ids = c.token_ids !== undefined ? c.token_ids : choice.token_ids;
      head.appendChild(el('span', 'tokenids', 'token ids ' + (Array.isArray(ids) ? 'present (' + ids.length + ')' : ids ? 'present' : 'absent')));
      if (c.stream) head.appendChild(el('span', 'tag', 'stream'));
      if (c.truncated) body.appendChild(el('div', 'note', 'the gate kept only sizes of this call (request ' + str(c.request_bytes) + ' bytes, response ' + str(c.response_bytes) + ' bytes): the transcript limit was reached'));
      if (c.error) body.appendChild(el('div', 'note', 'failed: ' + str(c.error)));
      var req = obj(c.normalized_request || c.request), msgs = arr(req.messages);
      var carried = 0;
      while (carried < prev.length && carried < msgs.length && same(prev[carried], msgs[carried])) carried++;
      if (carried) {
        var d = el('details', '', el('summary', '', carried + ' earlier message' + (carried > 1 ? 's' : '') + ' as in the call before'));
        d.addEventListener('toggle', function () { if (d.open && d.childNodes.length === 1) msgs.slice(0, carried).forEach(function (m) { d.appendChild(message(m)); }); });
        body.appendChild(d);
      }
      msgs.slice(carried).forEach(function (m) { body.appendChild(message(m)); });
      if (msgs.length) prev = msgs;
      if (choice.message) {
        var r = message(choice.message, 'response');
        r.firstChild.textContent = 'response' + (choice.finish_reason ? ' · ' + str(choice.finish_reason) : '');
        body.appendChild(r);
      }
      if (req.tools) body.appendChild(json(req.tools, arr(req.tools).length + ' tools offered'));
      if (c.upstream_overrides) body.appendChild(json(c.upstream_overrides, 'upstream overrides'));
      return box;
    }));
  }
  function eventView(e) {
    e = obj(e);
    var kind = str(e.kind), rest = {};
    Object.keys(e).forEach(function (k) { if (k !== 'kind' && k !== 'seq') rest[k] = e[k]; });
    var box = el('div', 'ev', el('span', 'tag', '#' + str(e.seq)), el('strong', '', kind), ' ');
    if (kind === 'tool_call') add(box, [el('span', 'tool', '→ ' + str(e.name)), json(e.input)]);
    else if (kind === 'tool_result') add(box, [el('span', 'muted', str(e.name) + (e.is_error ? ' (error)' : '')), text(e.output, 'output')]);
    else if (kind === 'assistant' && Array.isArray(e.content)) add(box, content(e.content));
    else if (typeof e.text === 'string') add(box, text(e.text));
    else if (Object.keys(rest).length) add(box, json(rest));
    return box;
  }
  function events(list, truncated) {
    list = arr(list);
    var root = el('div', '');
    if (truncated) root.appendChild(el('div', 'note', str(truncated) + ' events were dropped by the rollout (its events limit)'));
    if (!list.length) { root.appendChild(el('p', 'muted', 'no events')); return root; }
    var shown = 0, more = el('div', '');
    function page() {
      list.slice(shown, shown + EVENTS_PAGE).forEach(function (e) { root.insertBefore(eventView(e), more); });
      shown = Math.min(list.length, shown + EVENTS_PAGE);
      more.textContent = '';
      if (shown < list.length) more.appendChild(button('btn', 'show more events (' + (list.length - shown) + ' left)', page));
    }
    root.appendChild(more);
    page();
    return root;
  }
  /* The result's "egress" record (one entry per decision of the egress
   * proxy, or counted ones): a table of whatever keys the entries have. */
  function egress(x) {
    if (x === undefined || x === null) return null;
    var list = Array.isArray(x) ? x : [x], keys = [], by = {};
    list.forEach(function (e) {
      e = obj(e);
      Object.keys(e).forEach(function (k) { if (keys.indexOf(k) < 0) keys.push(k); });
      if (e.decision !== undefined) by[str(e.decision)] = (by[str(e.decision)] || 0) + (typeof e.count === 'number' ? e.count : 1);
    });
    var t = el('table', 'egress', el('tr', '', keys.map(function (k) { return el('th', '', k); })));
    list.forEach(function (e) {
      e = obj(e);
      t.appendChild(el('tr', e.decision !== undefined && e.decision !== 'allow' ? 'refused' : '',
        keys.map(function (k) { return el('td', '', str(e[k])); })));
    });
    var counts = Object.keys(by).map(function (k) { return k + ' ' + by[k]; }).join(', ');
    return [el('h2', '', 'Egress decisions (' + list.length + ' entries' + (counts ? ': ' + counts : '') + ')'), el('div', 'panel', t)];
  }
  function cutNotes(cut) {
    cut = obj(cut);
    var n = [];
    if (cut.omitted) n.push('This rollout\'s detail was left out: the page\'s details reached ' + str(cut.total_max) + ' bytes.');
    if (cut.missing) n.push('This rollout has no detail block in the page.');
    if (cut.unreadable) n.push('This rollout\'s detail could not be read: ' + cut.unreadable);
    if (cut.texts) n.push(cut.texts + ' texts longer than ' + cut.text_max + ' bytes were cut (each says where).');
    if (cut.calls) n.push(cut.calls + ' model calls at the end were left out to keep this rollout under ' + cut.rollout_max + ' bytes.');
    if (cut.events) n.push(cut.events + ' events at the end were left out to keep this rollout under ' + cut.rollout_max + ' bytes.');
    return n.map(function (s) { return el('div', 'note cut', s); });
  }
  function rolloutView(i) {
    var row = ROWS[i], d = detail(i), r = obj(d.r);
    var t = TASKS[row[R_TASK]] || {}, sib = taskRows[row[R_TASK]] || [], at = sib.indexOf(i);
    var root = el('div', '');
    root.appendChild(el('div', 'filters',
      button('btn', '← task ' + str(t.name), function () { go('#t' + row[R_TASK]); }),
      at > 0 ? button('btn', 'previous attempt', function () { go('#r' + sib[at - 1]); }) : null,
      at >= 0 && at < sib.length - 1 ? button('btn', 'next attempt', function () { go('#r' + sib[at + 1]); }) : null));
    root.appendChild(el('h1', '', str(t.name) + ' · attempt ' + fmt(row[R_ATTEMPT]) + ' ', el('span', 'badge ' + rowState(row), rowLabel(row))));
    add(root, cutNotes(d.cut));
    var task = obj(r.task), agent = obj(r.agent), sb = obj(r.sandbox), e = obj(r.error);
    root.appendChild(el('div', 'panel', kv([
      ['rollout id', str(row[R_ID])], ['task', str(task.name)], ['task dir', str(task.dir)], ['task digest', str(r.task_digest)],
      ['task version', str(task.version)], ['attempt', fmt(row[R_ATTEMPT])],
      ['agent', str(agent.name) + (agent.version ? ' ' + str(agent.version) : '')],
      ['agent status', agent.status !== undefined ? str(agent.status) + ', exit ' + str(agent.exit_code) + (agent.timed_out ? ', timed out' : '') : ''],
      ['sandbox', str(sb.backend) + (sb.id ? ' ' + str(sb.id) : '') + (sb.verify_id ? ' (verified in ' + str(sb.verify_id) + ')' : '')],
      ['reward', fmt(row[R_REWARD])], ['reward source', str(r.reward_source)],
      ['rewards', r.rewards ? JSON.stringify(r.rewards) : ''],
      ['error', r.error ? str(e.class) + ' in ' + str(e.phase) + ' (' + str(e.status) + ')' : ''],
      ['error message', r.error ? text(e.message) : ''],
      ['task warnings', task.warnings ? arr(task.warnings).map(str).join('; ') : '']])));
    var tm = obj(r.timings_ms), keys = Object.keys(tm).filter(function (k) { return k !== 'total' && typeof tm[k] === 'number'; });
    if (keys.length) {
      var W = 520, rowH = 16, max = Math.max.apply(null, keys.map(function (k) { return tm[k]; }).concat([1]));
      var s = svg('svg', { width: W + 200, height: keys.length * rowH + 4, role: 'img' });
      keys.forEach(function (k, j) {
        var label = svg('text', { x: 0, y: j * rowH + 12 }, k.length > 16 ? k.slice(0, 15) + '…' : k);
        label.appendChild(svg('title', {}, k));
        s.appendChild(label);
        s.appendChild(svg('rect', { x: 110, y: j * rowH + 3, width: Math.max(1, tm[k] / max * W), height: rowH - 5, 'class': 'bar' }));
        s.appendChild(svg('text', { x: 116 + Math.max(1, tm[k] / max * W), y: j * rowH + 12 }, ms(tm[k])));
      });
      root.appendChild(el('div', 'panel', el('h3', '', 'Phases (total ' + ms(tm.total) + ')'), s));
    }
    if (agent.stderr_tail) root.appendChild(el('div', 'panel', el('h3', '', 'Agent stderr (last 4 KiB)'), text(agent.stderr_tail, 'stderr')));
    root.appendChild(el('h2', '', 'Setup'));
    root.appendChild(commands(r.setup));
    root.appendChild(el('h2', '', 'Model calls (' + arr(r.transcript).length + ')'));
    if (r.transcript_truncated) root.appendChild(el('div', 'note', 'the gate cut this transcript to sizes past its limit'));
    root.appendChild(el('div', 'calls', calls(r.transcript)));
    root.appendChild(el('h2', '', 'Agent events (' + arr(r.events).length + ')'));
    root.appendChild(el('div', 'panel events', events(r.events, r.events_truncated)));
    add(root, egress(r.egress));
    root.appendChild(el('h2', '', 'Verify'));
    root.appendChild(commands(r.verify));
    root.appendChild(el('h2', '', 'Result JSON'));
    root.appendChild(json(d.r, 'the whole result as embedded'));
    return root;
  }

  /* ---- two runs ---- */
  function compareView() {
    var root = el('div', '', el('h1', '', 'Compare ' + str(IX.base.name) + ' → ' + str(IX.run.name)));
    var a = BASE, b = S;
    var t = el('table', 'overall', el('tr', '', el('th', '', ''), el('th', 'num', str(IX.base.name)), el('th', 'num', str(IX.run.name)), el('th', 'num', 'Δ')));
    function line(label, x, y) {
      var dd = typeof x === 'number' && typeof y === 'number' ? y - x : null;
      t.appendChild(el('tr', '', el('td', '', label), el('td', 'num', fmt(x, 4)), el('td', 'num', fmt(y, 4)),
        el('td', 'num ' + (dd > 0 ? 'delta-up' : dd < 0 ? 'delta-down' : ''), dd === null ? '–' : (dd > 0 ? '+' : '') + fmt(dd, 4))));
    }
    line('rollouts', a.rollouts, b.rollouts);
    line('tasks', a.tasks, b.tasks);
    line('errors', obj(a.errors).total, obj(b.errors).total);
    line('mean reward', obj(a.reward).mean, obj(b.reward).mean);
    Object.keys(obj(b.pass_at_k)).forEach(function (k) { line('pass@' + k, obj(a.pass_at_k)[k], b.pass_at_k[k]); });
    root.appendChild(el('div', 'panel', t));
    var by = {};
    arr(a.per_task).forEach(function (x) { by[x.digest] = { a: x }; });
    arr(b.per_task).forEach(function (x, i) { (by[x.digest] = by[x.digest] || {}).b = x; by[x.digest].bi = i; });
    var data = Object.keys(by).map(function (k) { var p = by[k]; p.name = str((p.b || p.a).name); p.d = p.a && p.b && typeof p.a.mean_reward === 'number' && typeof p.b.mean_reward === 'number' ? p.b.mean_reward - p.a.mean_reward : null; return p; });
    var up = 0, down = 0, same = 0, onlyA = 0, onlyB = 0;
    data.forEach(function (p) { if (!p.a) onlyB++; else if (!p.b) onlyA++; else if (p.d > 0) up++; else if (p.d < 0) down++; else same++; });
    root.appendChild(el('p', 'compare-counts', up + ' tasks improved, ' + down + ' regressed, ' + same + ' unchanged; ' + onlyA + ' only in ' + str(IX.base.name) + ', ' + onlyB + ' only in ' + str(IX.run.name) + '.'));
    var q = el('input', '');
    q.type = 'search'; q.placeholder = 'filter by task name';
    var tbl = el('table', 'compare'), tbody = el('tbody', '');
    sortable(tbl, [{ label: 'task', key: function (p) { return p.name; } },
      { label: str(IX.base.name) + ' mean reward', num: 1, key: function (p) { return p.a ? p.a.mean_reward : null; } },
      { label: str(IX.run.name) + ' mean reward', num: 1, key: function (p) { return p.b ? p.b.mean_reward : null; } },
      { label: 'Δ', num: 1, key: function (p) { return p.d; } },
      { label: 'passed before', num: 1, key: function (p) { return p.a ? p.a.passed : null; } },
      { label: 'passed now', num: 1, key: function (p) { return p.b ? p.b.passed : null; } }], data, draw);
    tbl.appendChild(tbody);
    var limit = PAGE, more = el('div', 'filters');
    function draw() {
      tbody.textContent = '';
      var shown = data.filter(function (p) { return !q.value || p.name.toLowerCase().indexOf(q.value.toLowerCase()) >= 0; });
      shown.slice(0, limit).forEach(function (p) {
        tbody.appendChild(el('tr', 'ctask', el('td', '', p.b ? button('link', p.name, function () { go('#t' + p.bi); }) : p.name),
          el('td', 'num', p.a ? fmt(p.a.mean_reward, 3) : 'absent'), el('td', 'num', p.b ? fmt(p.b.mean_reward, 3) : 'absent'),
          el('td', 'num ' + (p.d > 0 ? 'delta-up' : p.d < 0 ? 'delta-down' : ''), p.d === null ? '–' : (p.d > 0 ? '+' : '') + fmt(p.d, 3)),
          el('td', 'num', p.a ? p.a.passed + '/' + p.a.attempts : ''), el('td', 'num', p.b ? p.b.passed + '/' + p.b.attempts : '')));
      });
      more.textContent = '';
      if (shown.length > limit) more.appendChild(button('btn', 'show more', function () { limit += PAGE; draw(); }));
    }
    q.addEventListener('input', draw);
    root.appendChild(el('div', 'panel', el('div', 'filters', q), tbl, more));
    draw();
    return root;
  }

  /* ---- routing: #, #t<task>, #r<rollout>, #compare ---- */
  function route() {
    var h = location.hash, m, view, tab = 'summary';
    try {
      if ((m = /^#r(\d+)$/.exec(h)) && +m[1] < ROWS.length) { view = rolloutView(+m[1]); tab = ''; }
      else if ((m = /^#t(\d+)$/.exec(h)) && +m[1] < TASKS.length) { view = taskView(+m[1]); tab = ''; }
      else if (h === '#compare' && BASE) { view = compareView(); tab = 'compare'; }
      else view = summaryView();
    } catch (e) {
      view = el('div', 'note', 'This view could not be drawn: ' + e);
      console.warn(e);
    }
    app.textContent = '';
    app.appendChild(view);
    nav.textContent = '';
    nav.appendChild(button(tab === 'summary' ? 'on' : '', 'Summary and tasks', function () { go('#'); }));
    if (BASE) nav.appendChild(button(tab === 'compare' ? 'on' : '', 'Compare', function () { go('#compare'); }));
    window.scrollTo(0, 0);
  }
  window.addEventListener('hashchange', route);
  route();
  document.documentElement.setAttribute('data-render-ms', performance.now().toFixed(1));
  document.documentElement.setAttribute('data-ready', '1');
})();
