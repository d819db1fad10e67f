// The feature browser's client code and style (page.ts inlines them). Plain browser JavaScript with no
// dependency, written without template literals so that it can sit in a TypeScript string as is.
// window.featuresPage.show(j) shows latent j and resolves once its panel is drawn (the Chromium check
// walks every latent through it); the URL hash (#123) names the latent shown, so a view can be bookmarked.

export const PAGE_STYLE = String.raw`
:root{--fg:#1d2330;--muted:#667085;--line:#e4e7ec;--bg:#f7f8fa;--accent:#1f6feb;--act:255,122,0}
*{box-sizing:border-box}
html,body{height:100%}
body{margin:0;font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg);display:flex;flex-direction:column}
header{padding:10px 18px;border-bottom:1px solid var(--line);background:#fff}
h1{font-size:17px;margin:0 0 2px}
.meta{color:var(--muted);font-size:12.5px}
code{font-size:12px;background:#f0f2f5;padding:0 4px;border-radius:3px}
main{flex:1;display:flex;min-height:0}
#list{width:540px;min-width:420px;border-right:1px solid var(--line);display:flex;flex-direction:column;background:#fff}
.controls{display:flex;align-items:center;gap:8px;padding:8px 10px;border-bottom:1px solid var(--line)}
#q{flex:1;padding:6px 9px;border:1px solid #cfd4dc;border-radius:6px;font-size:13.5px}
#q:focus{outline:2px solid #b6d0fb;border-color:var(--accent)}
#shown{color:var(--muted);font-size:12px;white-space:nowrap}
.thead,.row{display:grid;grid-template-columns:64px 110px 64px 64px 1fr;align-items:center;padding:0 10px;gap:6px}
.thead{font-size:12px;color:var(--muted);border-bottom:1px solid var(--line);height:28px;user-select:none}
.thead span[data-key]{cursor:pointer}
.thead span.on{color:var(--fg);font-weight:600}
.thead span.on::after{content:" ↓"}.thead span.on.asc::after{content:" ↑"}
#viewport{flex:1;overflow-y:auto;position:relative}
#spacer{position:relative}
.row{position:absolute;left:0;right:0;height:26px;font-size:12.5px;cursor:pointer;border-bottom:1px solid #f2f4f7;font-variant-numeric:tabular-nums}
.row:hover{background:#f5f8ff}
.row.sel{background:#e3edff}
.c-i{color:var(--muted)}
.dbar{display:flex;align-items:center;gap:5px}
.dbar i{display:inline-block;height:7px;background:#7aa7f0;border-radius:2px}
.c-t{overflow:hidden;white-space:nowrap;text-overflow:ellipsis}
.tk{display:inline-block;padding:0 4px;margin-right:3px;background:#f0f2f5;border-radius:3px;white-space:pre;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11.5px}
#panel{flex:1;overflow-y:auto;padding:16px 22px 40px}
.hint{color:var(--muted)}
.ph{display:flex;align-items:baseline;gap:14px;margin-bottom:8px}
.ph h2{margin:0;font-size:20px}
.ph button{border:1px solid #cfd4dc;background:#fff;border-radius:5px;padding:2px 9px;cursor:pointer}
.stats{display:flex;flex-wrap:wrap;gap:8px;margin:6px 0 14px}
.stat{background:#fff;border:1px solid var(--line);border-radius:7px;padding:6px 12px;min-width:110px}
.stat b{display:block;font-size:16px;font-variant-numeric:tabular-nums}
.stat span{font-size:11.5px;color:var(--muted)}
.cards{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.card h3{font-size:13px;margin:0 0 6px;color:#344054}
.logits{display:grid;grid-template-columns:1fr 1fr;gap:0 18px;font-size:12.5px;min-width:330px}
.lg{display:flex;justify-content:space-between;gap:10px;padding:1px 4px;border-radius:3px;font-variant-numeric:tabular-nums}
.lg .tk{background:none;padding:0}
section.ex{margin-top:16px}
section.ex h3{font-size:13px;color:#344054;margin:0 0 6px}
.band{font-size:12px;color:var(--muted);margin:10px 0 4px}
.exr{display:flex;gap:10px;align-items:baseline;background:#fff;border:1px solid var(--line);border-radius:6px;padding:3px 10px;margin-bottom:3px}
.exr .a{min-width:58px;text-align:right;font-weight:600;font-variant-numeric:tabular-nums;font-size:12.5px}
.exr .r{color:var(--muted);font-size:11px;min-width:70px}
.toks{flex:1;min-width:0;display:grid;grid-template-columns:1fr auto 1fr;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;line-height:1.9}
.toks .pre{display:flex;justify-content:flex-end;overflow:hidden}
.toks .post{display:flex;overflow:hidden}
.toks .t{white-space:pre;border-radius:2px;padding:1px 0;flex:none}
.ids .toks .t{margin:0 2px}
.toks .t.f{outline:1.5px solid #c2410c;outline-offset:0;font-weight:600}
.none{color:var(--muted);font-style:italic}
.err{color:#b42318}
svg text{font:11px sans-serif;fill:#475467}
`;

export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var ROW_H = 26;
  var chunks = {};
  var waiting = {};
  var order = INDEX.map(function (_, k) { return k; });
  var sortKey = 'i', asc = true, current = -1;
  var viewport = document.getElementById('viewport');
  var spacer = document.getElementById('spacer');
  var panel = document.getElementById('panel');
  var q = document.getElementById('q');

  window.featuresChunk = function (c, latents) {
    chunks[c] = latents;
    (waiting[c] || []).forEach(function (w) { w.ok(latents); });
    delete waiting[c];
  };

  function loadChunk(c) {
    if (chunks[c]) return Promise.resolve(chunks[c]);
    return new Promise(function (ok, fail) {
      if (waiting[c]) { waiting[c].push({ ok: ok, fail: fail }); return; }
      waiting[c] = [{ ok: ok, fail: fail }];
      var s = document.createElement('script');
      s.src = 'latents/' + String(c).padStart(5, '0') + '.js';
      s.onerror = function () {
        (waiting[c] || []).forEach(function (w) { w.fail(new Error('could not load ' + s.src + ' (is the latents/ folder beside index.html?)')); });
        delete waiting[c];
        s.remove();
      };
      document.head.appendChild(s);
    });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fmt(v) {
    if (v === 0) return '0';
    var a = Math.abs(v);
    if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
    return String(Number(v.toPrecision(a >= 100 ? 5 : 3)));
  }
  function pct(d) {
    if (d === 0) return '0%';
    var p = 100 * d;
    return (p >= 1 ? p.toFixed(2) : p >= 0.01 ? p.toFixed(3) : p.toExponential(1)) + '%';
  }
  function shown(t) { return t.replace(/\n/g, '\u21b5').replace(/\t/g, '\u2192'); }

  // ---- the table -------------------------------------------------------------------------------
  function densityCell(d) {
    var w = d > 0 ? Math.max(2, Math.round(46 * (1 + Math.log10(d) / 6))) : 0;
    var s = el('span', 'dbar c-d');
    var bar = el('i');
    bar.style.width = Math.max(0, w) + 'px';
    s.appendChild(bar);
    s.appendChild(document.createTextNode(pct(d)));
    return s;
  }

  function rowEl(k, pos) {
    var e = INDEX[k];
    var r = el('div', 'row' + (e.i === current ? ' sel' : ''));
    r.style.top = pos * ROW_H + 'px';
    r.dataset.latent = e.i;
    r.appendChild(el('span', 'c-i', '#' + e.i));
    r.appendChild(densityCell(e.d));
    r.appendChild(el('span', 'c-x', fmt(e.x)));
    r.appendChild(el('span', 'c-m', fmt(e.m)));
    var t = el('span', 'c-t');
    e.t.forEach(function (tok) { t.appendChild(el('span', 'tk', shown(tok))); });
    r.appendChild(t);
    return r;
  }

  function drawRows() {
    var first = Math.max(0, Math.floor(viewport.scrollTop / ROW_H) - 5);
    var last = Math.min(order.length, first + Math.ceil(viewport.clientHeight / ROW_H) + 10);
    spacer.textContent = '';
    spacer.style.height = order.length * ROW_H + 'px';
    for (var p = first; p < last; p++) spacer.appendChild(rowEl(order[p], p));
  }

  function applyView() {
    var s = q.value.trim().toLowerCase();
    var keep;
    // A number (or #number) finds latents by index prefix, and also tokens that contain it (a page without
    // a model shows tokens as #id).
    var num = /^#?(\d+)$/.exec(s);
    var hasToken = function (e) {
      return e.t.some(function (t) { return t.toLowerCase().trim().indexOf(s) >= 0; }) || e.p.some(function (t) { return t.toLowerCase().trim().indexOf(s) >= 0; });
    };
    if (num) keep = function (e) { return String(e.i).indexOf(num[1]) === 0 || hasToken(e); };
    else if (s) keep = hasToken;
    order = [];
    for (var k = 0; k < INDEX.length; k++) if (!keep || keep(INDEX[k])) order.push(k);
    order.sort(function (a, b) {
      var x = INDEX[a][sortKey], y = INDEX[b][sortKey];
      return (asc ? x - y : y - x) || INDEX[a].i - INDEX[b].i;
    });
    document.getElementById('shown').textContent = order.length === INDEX.length ? INDEX.length + ' latents' : order.length + ' of ' + INDEX.length;
    document.querySelectorAll('#thead span[data-key]').forEach(function (h) {
      h.className = h.className.replace(/ ?(on|asc)/g, '') + (h.dataset.key === sortKey ? ' on' + (asc ? ' asc' : '') : '');
    });
    drawRows();
  }

  document.getElementById('thead').addEventListener('click', function (ev) {
    var key = ev.target.dataset && ev.target.dataset.key;
    if (!key) return;
    if (key === sortKey) asc = !asc;
    else { sortKey = key; asc = key === 'i'; }
    viewport.scrollTop = 0;
    applyView();
  });
  q.addEventListener('input', function () { viewport.scrollTop = 0; applyView(); });
  viewport.addEventListener('scroll', drawRows);
  window.addEventListener('resize', drawRows);
  spacer.addEventListener('click', function (ev) {
    var r = ev.target.closest('.row');
    if (r) location.hash = '#' + r.dataset.latent;
  });
  document.addEventListener('keydown', function (ev) {
    if (ev.target === q) { if (ev.key === 'Escape') q.blur(); return; }
    if (ev.key === '/') { ev.preventDefault(); q.focus(); return; }
    var step = ev.key === 'ArrowDown' || ev.key === 'j' ? 1 : ev.key === 'ArrowUp' || ev.key === 'k' ? -1 : 0;
    if (!step || order.length === 0) return;
    ev.preventDefault();
    var at = -1;
    for (var p = 0; p < order.length; p++) if (INDEX[order[p]].i === current) at = p;
    var next = Math.min(order.length - 1, Math.max(0, at + step));
    location.hash = '#' + INDEX[order[next]].i;
    var top = next * ROW_H;
    if (top < viewport.scrollTop) viewport.scrollTop = top;
    else if (top + ROW_H > viewport.scrollTop + viewport.clientHeight) viewport.scrollTop = top + ROW_H - viewport.clientHeight;
  });

  // ---- the panel -------------------------------------------------------------------------------
  var SVGNS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // Counts per log-spaced bin, on a log activation axis where the bins are even.
  function histogram(h) {
    var W = 430, H = 190, L = 48, R = 12, T = 22, B = 34;
    var s = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', class: 'hist' });
    s.appendChild(svg('text', { x: L, y: 14, style: 'font-weight:600;fill:#344054' }, 'Activations when firing (log bins)'));
    if (!h.counts.length) { s.appendChild(svg('text', { x: L, y: H / 2 }, 'never fired')); return s; }
    var lo = h.edges[0] > 0 ? h.edges[0] : h.edges[1] / Math.pow(2, 0.25);
    var hiE = h.edges[h.edges.length - 1];
    var hi = hiE < 1e300 ? hiE : h.edges[h.edges.length - 2] * Math.pow(2, 0.25);
    var a = Math.log10(lo), b = Math.log10(hi);
    if (b - a < 0.3) { var mid = (a + b) / 2; a = mid - 0.15; b = mid + 0.15; }
    var X = function (v) { return L + (Math.log10(Math.max(v, lo)) - a) / (b - a) * (W - L - R); };
    var top = Math.max.apply(null, h.counts);
    var Y = function (c) { return H - B - c / top * (H - B - T); };
    s.appendChild(svg('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#98a2b3' }));
    s.appendChild(svg('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#98a2b3' }));
    var g = svg('g', { class: 'series', fill: '#ff7a00', 'fill-opacity': '0.85' });
    h.counts.forEach(function (c, i) {
      if (!c) return;
      var x0 = X(Math.min(Math.max(h.edges[i], lo), hi)), x1 = X(Math.min(h.edges[i + 1], hi));
      var r = svg('rect', { x: x0.toFixed(1), y: Y(c).toFixed(1), width: Math.max(1, x1 - x0 - 0.5).toFixed(1), height: (H - B - Y(c)).toFixed(1) });
      r.appendChild(svg('title', {}, fmt(h.edges[i]) + ' to ' + fmt(h.edges[i + 1]) + ': ' + c));
      g.appendChild(r);
    });
    s.appendChild(g);
    // Ticks: powers of ten, or 1-2-5 steps inside a narrow range.
    var ticks = [];
    [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]].some(function (ms) {
      ticks = [];
      for (var e = Math.floor(a); e <= Math.ceil(b); e++) ms.forEach(function (m) { var v = m * Math.pow(10, e); if (Math.log10(v) >= a && Math.log10(v) <= b) ticks.push(v); });
      return ticks.length >= 3;
    });
    ticks.forEach(function (v) {
      var x = X(v);
      s.appendChild(svg('line', { x1: x, y1: H - B, x2: x, y2: H - B + 4, stroke: '#98a2b3' }));
      s.appendChild(svg('text', { x: x, y: H - B + 16, 'text-anchor': 'middle' }, fmt(Number(v.toPrecision(6)))));
    });
    [0, top].forEach(function (c) { s.appendChild(svg('text', { x: L - 6, y: Y(c) + 4, 'text-anchor': 'end' }, String(c))); });
    s.appendChild(svg('text', { x: (L + W - R) / 2, y: H - 4, 'text-anchor': 'middle' }, 'activation'));
    return s;
  }

  function logits(l) {
    var card = el('div', 'card');
    card.appendChild(el('h3', null, 'Logit effect (W_dec · W_U through the final norm)'));
    var grid = el('div', 'logits');
    [['Positive', l.top_logits, '31,111,235'], ['Negative', l.bottom_logits, '217,45,32']].forEach(function (side) {
      var col = el('div');
      col.appendChild(el('div', 'band', side[0]));
      var m = Math.max.apply(null, side[1].map(function (t) { return Math.abs(t.value); })) || 1;
      side[1].forEach(function (t) {
        var r = el('div', 'lg');
        r.style.background = 'rgba(' + side[2] + ',' + (0.35 * Math.abs(t.value) / m).toFixed(3) + ')';
        r.appendChild(el('span', 'tk', shown(t.token)));
        r.appendChild(el('span', null, (t.value > 0 ? '+' : '') + t.value.toFixed(3)));
        col.appendChild(r);
      });
      grid.appendChild(col);
    });
    card.appendChild(grid);
    return card;
  }

  // One example: the focus token in a centre column, its context right- and left-aligned around it, so
  // that the focus tokens of all examples line up; each token shaded by the latent's activation on it.
  function exampleRow(ex, max) {
    var r = el('div', 'exr');
    r.appendChild(el('span', 'a', fmt(ex.activation)));
    var toks = el('span', 'toks');
    var parts = [el('span', 'pre'), el('span', 'mid'), el('span', 'post')];
    ex.tokens.forEach(function (t, i) {
      var v = ex.activations[i];
      var s = el('span', i === ex.focus ? 't f' : 't', shown(t));
      if (v > 0) s.style.background = 'rgba(var(--act),' + Math.min(1, 0.12 + 0.88 * v / max).toFixed(3) + ')';
      s.title = JSON.stringify(t) + ': ' + (v > 0 ? fmt(v) : '0');
      parts[i < ex.focus ? 0 : i === ex.focus ? 1 : 2].appendChild(s);
    });
    parts.forEach(function (p) { toks.appendChild(p); });
    r.appendChild(toks);
    r.appendChild(el('span', 'r', 'row ' + ex.row));
    return r;
  }

  function stat(value, label) {
    var s = el('div', 'stat');
    s.appendChild(el('b', null, value));
    s.appendChild(el('span', null, label));
    return s;
  }

  function render(l) {
    var root = el('div');
    root.dataset.latent = l.index;
    var head = el('div', 'ph');
    head.appendChild(el('h2', null, 'Latent #' + l.index));
    var pos = -1;
    for (var p = 0; p < order.length; p++) if (INDEX[order[p]].i === l.index) pos = p;
    [['← prev', -1], ['next →', 1]].forEach(function (b) {
      var btn = el('button', null, b[0]);
      var to = order[pos + b[1]];
      btn.disabled = pos < 0 || to === undefined;
      btn.onclick = function () { if (to !== undefined) location.hash = '#' + INDEX[to].i; };
      head.appendChild(btn);
    });
    root.appendChild(head);
    var st = el('div', 'stats');
    st.appendChild(stat(pct(l.density), 'density' + (l.density > 0 ? ' (1 in ' + fmt(Number((1 / l.density).toPrecision(3))) + ')' : '')));
    st.appendChild(stat(String(l.count), 'rows firing of ' + META.rows.toLocaleString('en-US')));
    st.appendChild(stat(fmt(l.max_activation), 'max activation'));
    st.appendChild(stat(fmt(l.mean_activation), 'mean when firing'));
    st.appendChild(stat(fmt(l.mean_activation_all_rows), 'mean over all rows'));
    root.appendChild(st);
    var cards = el('div', 'cards');
    var hc = el('div', 'card');
    hc.appendChild(histogram(l.histogram));
    cards.appendChild(hc);
    if (l.top_logits) cards.appendChild(logits(l));
    root.appendChild(cards);
    var top = el('section', 'ex top');
    top.appendChild(el('h3', null, 'Top activations (' + l.examples.length + ')'));
    if (!l.examples.length) top.appendChild(el('p', 'none', 'This latent never fired on these rows.'));
    l.examples.forEach(function (ex) { top.appendChild(exampleRow(ex, l.max_activation)); });
    root.appendChild(top);
    if (l.interval_examples.length) {
      var iv = el('section', 'ex interval');
      iv.appendChild(el('h3', null, 'Interval samples (quartiles of a uniform sample of firing rows)'));
      var band = null;
      l.interval_examples.forEach(function (ex) {
        if (ex.band !== band) { band = ex.band; iv.appendChild(el('div', 'band', 'quartile ' + band)); }
        iv.appendChild(exampleRow(ex, l.max_activation));
      });
      root.appendChild(iv);
    }
    return root;
  }

  function show(j) {
    current = j;
    drawRows();
    return loadChunk(Math.floor(j / META.chunk)).then(function (latents) {
      var l = latents[j % META.chunk];
      if (!l || l.index !== j) throw new Error('latent ' + j + ' is not in its data block');
      if (current !== j) return;
      panel.textContent = '';
      panel.appendChild(render(l));
      panel.scrollTop = 0;
      document.title = document.title.replace(/ · #\d+$/, '') + ' · #' + j;
    }, function (err) {
      panel.textContent = '';
      panel.appendChild(el('p', 'err', err.message));
      throw err;
    });
  }

  function fromHash() {
    var m = /^#(\d+)$/.exec(location.hash);
    if (m && Number(m[1]) < INDEX.length) show(Number(m[1])).catch(function (e) { console.error(e.message); });
  }
  window.addEventListener('hashchange', fromHash);
  // Without a model the tokens are ids (#123): spaced apart, as there is no text to run together.
  if (!META.hasModel) document.body.classList.add('ids');
  window.featuresPage = { show: show, count: INDEX.length };
  applyView();
  if (location.hash) fromHash();
  else if (INDEX.length) {
    // Open on the densest latent that fired, a useful first view.
    var best = 0;
    for (var k = 1; k < INDEX.length; k++) if (INDEX[k].x > 0 && (INDEX[best].x === 0 || INDEX[k].d > INDEX[best].d)) best = k;
    show(INDEX[best].i).catch(function (e) { console.error(e.message); });
  }
})();
`;
