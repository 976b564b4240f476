// Fractal-RMO live dashboard: renders each snapshot pushed on /events (server-sent events).
// window.fractalDashboard exposes what was rendered (version, counts, when each finished task
// first appeared) for tests and for measuring update latency.
(function () {
  'use strict';
  var STAGES = ['RECEIVED', 'ANALYZING', 'PLANNED', 'EXECUTING', 'VALIDATING', 'SUCCEEDED', 'FAILED', 'REJECTED'];
  var CATEGORIES = ['SYNTAX', 'LOGIC', 'RUNTIME', 'PERFORMANCE', 'SECURITY', 'DEPENDENCY', 'UNKNOWN'];
  var COLORS = {SYNTAX: '#f85149', LOGIC: '#d29922', RUNTIME: '#a371f7', PERFORMANCE: '#58a6ff',
    SECURITY: '#ff7b72', DEPENDENCY: '#3fb950', UNKNOWN: '#8a97a6'};
  var state = window.fractalDashboard = {version: 0, renders: 0, renderedAt: {}, last: null, connected: false};

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) { Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); }); }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function pct(x) { return Math.round(x * 100) + '%'; }
  function ago(ms) {
    var s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    return s < 60 ? s + ' s ago' : Math.round(s / 60) + ' min ago';
  }
  function time(ms) { return new Date(ms).toLocaleTimeString(); }
  function fill(tbody, rows) {
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    rows.forEach(function (r) { tbody.appendChild(r); });
  }
  function row(cells, attrs) {
    var tr = el('tr', attrs);
    cells.forEach(function (c) {
      var td = el('td', c.cls ? {'class': c.cls} : null, c.text !== undefined ? c.text : c);
      tr.appendChild(td);
    });
    return tr;
  }

  function renderStages(s) {
    var box = document.getElementById('stages');
    var minute = Math.floor(s.generated_at / 10000) * 10000 - 50000;
    var recent = s.finished_per_bucket.filter(function (b) { return b.t >= minute; })
      .reduce(function (n, b) { return n + b.n; }, 0);
    document.getElementById('throughput').textContent = recent + ' finished in the last minute';
    STAGES.forEach(function (name) {
      var card = document.getElementById('stage-' + name);
      if (!card) {
        card = el('div', {id: 'stage-' + name, 'class': 'card ' + name});
        card.appendChild(el('div', {'class': 'value'}, '0'));
        card.appendChild(el('div', {'class': 'label'}, name.toLowerCase()));
        box.appendChild(card);
      }
      card.querySelector('.value').textContent = String(s.stages[name] || 0);
    });
  }

  function renderErrors(s) {
    var svg = document.getElementById('errors-chart');
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var step = s.errors.bucket_ms;
    var byT = {};
    s.errors.series.forEach(function (b) { byT[b.t] = b; });
    var series = [];
    if (s.errors.series.length) {
      // one point per bucket up to now, empty buckets as zero (at most the view's 60)
      var last = Math.max(s.errors.series[s.errors.series.length - 1].t, Math.floor(s.generated_at / step) * step);
      var first = Math.max(s.errors.series[0].t, last - 59 * step);
      for (var t = first; t <= last; t += step) { series.push(byT[t] || {t: t, counts: {}}); }
    }
    var W = 900, H = 220, P = 24;
    var ns = 'http://www.w3.org/2000/svg';
    var totals = s.errors.total || {};
    document.getElementById('errors-total').textContent = Object.keys(totals).map(function (k) { return k + ' ' + totals[k]; }).join(' · ');
    if (!series.length) {
      var t = document.createElementNS(ns, 'text');
      t.setAttribute('x', W / 2); t.setAttribute('y', H / 2); t.setAttribute('fill', '#8a97a6'); t.setAttribute('text-anchor', 'middle');
      t.textContent = 'no error events yet';
      svg.appendChild(t);
      return;
    }
    var t0 = series[0].t, t1 = Math.max(series[series.length - 1].t, t0 + s.errors.bucket_ms);
    var max = 1;
    series.forEach(function (b) { CATEGORIES.forEach(function (c) { max = Math.max(max, b.counts[c] || 0); }); });
    function x(t) { return P + (W - 2 * P) * (t - t0) / (t1 - t0); }
    function y(v) { return H - P - (H - 2 * P) * v / max; }
    var axis = document.createElementNS(ns, 'text');
    axis.setAttribute('x', 4); axis.setAttribute('y', 14); axis.setAttribute('fill', '#8a97a6'); axis.setAttribute('font-size', '11');
    axis.textContent = 'max ' + max + ' per 10 s, ' + time(t0) + ' – ' + time(t1);
    svg.appendChild(axis);
    var legend = document.getElementById('errors-legend');
    while (legend.firstChild) { legend.removeChild(legend.firstChild); }
    CATEGORIES.forEach(function (c) {
      if (!totals[c]) { return; }
      var pts = series.map(function (b) { return x(b.t).toFixed(1) + ',' + y(b.counts[c] || 0).toFixed(1); }).join(' ');
      var line = document.createElementNS(ns, 'polyline');
      line.setAttribute('points', pts); line.setAttribute('fill', 'none'); line.setAttribute('stroke', COLORS[c]); line.setAttribute('stroke-width', '2');
      line.setAttribute('data-category', c);
      svg.appendChild(line);
      var item = el('span', {'data-category': c});
      var swatch = el('i'); swatch.style.background = COLORS[c];
      item.appendChild(swatch); item.appendChild(document.createTextNode(c + ' ' + totals[c]));
      legend.appendChild(item);
    });
  }

  function renderPatterns(s) {
    fill(document.querySelector('#patterns tbody'), s.patterns.map(function (p) {
      return row([p.pattern_key, p.frequency, p.confidence.toFixed(2), time(p.window_start) + '–' + time(p.window_end), p.suggested_action],
        {'data-pattern-key': p.pattern_key});
    }));
  }

  function renderRules(s) {
    fill(document.querySelector('#rules tbody'), s.rules.map(function (r) {
      var t = r.trial ? r.trial.sample_size + ' actions: ' + pct(r.trial.error_rate_without) + ' → ' + pct(r.trial.error_rate_with)
        + ', ' + Math.round(r.trial.mean_ms_without) + ' → ' + Math.round(r.trial.mean_ms_with) + ' ms' : '–';
      return row([r.rule_id, r.version, {text: r.status, cls: 'status-' + r.status}, r.action, r.confidence.toFixed(2), {text: t, cls: 'wrap'}],
        {'data-rule-id': r.rule_id, 'data-status': r.status});
    }));
  }

  function renderAgents(s) {
    fill(document.querySelector('#agents tbody'), s.agents.map(function (a) {
      return row([a.agent_id, {text: a.state + (a.stale ? ' (stale)' : ''), cls: a.stale ? 'stale' : 'state-' + a.state}, a.processed, ago(a.updated_at)],
        {'data-agent-id': a.agent_id, 'data-state': a.state, 'data-stale': String(a.stale)});
    }));
  }

  function renderSmall(s) {
    document.getElementById('dlq-total').textContent = String(s.dlq.total);
    var stages = document.getElementById('dlq-stages');
    while (stages.firstChild) { stages.removeChild(stages.firstChild); }
    Object.keys(s.dlq.by_stage).forEach(function (k) { stages.appendChild(el('li', null, k + ': ' + s.dlq.by_stage[k])); });
    fill(document.querySelector('#sandbox tbody'), Object.keys(s.sandbox).map(function (k) {
      var v = s.sandbox[k];
      return row([k, v.runs, v.failed, v.timed_out], {'data-isolation': k});
    }));
  }

  function renderRecent(s) {
    var list = document.getElementById('recent');
    while (list.firstChild) { list.removeChild(list.firstChild); }
    s.recent.forEach(function (t) {
      var text = time(t.final_at) + '  ' + t.state + '  ' + t.task_id + (t.failure_category ? '  ' + t.failure_category : '')
        + (t.applied_rule_ids.length ? '  rules: ' + t.applied_rule_ids.join(', ') : '');
      list.appendChild(el('li', {'class': t.state, 'data-task-id': t.task_id, 'data-state': t.state}, text));
    });
  }

  function render(s) {
    renderStages(s); renderSmall(s); renderErrors(s); renderPatterns(s); renderRules(s); renderAgents(s); renderRecent(s);
    var now = Date.now();
    s.recent.forEach(function (t) { if (!(t.task_id in state.renderedAt)) { state.renderedAt[t.task_id] = now; } });
    state.version = s.version; state.renders++; state.last = s;
    document.getElementById('updated').textContent = (s.caught_up ? '' : 'catching up… ') + 'updated ' + new Date(now).toLocaleTimeString();
  }

  function connect() {
    var conn = document.getElementById('conn');
    var source = new EventSource('/events');
    source.addEventListener('open', function () { conn.textContent = 'live'; conn.setAttribute('data-state', 'live'); state.connected = true; });
    source.addEventListener('error', function () { conn.textContent = 'disconnected, retrying…'; conn.setAttribute('data-state', 'disconnected'); state.connected = false; });
    source.addEventListener('snapshot', function (e) {
      try { render(JSON.parse(e.data)); } catch (err) { state.error = String(err); if (window.console) { console.error(err); } }
    });
  }
  connect();
})();
