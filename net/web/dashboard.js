// The pgc dashboard: renders the parameter server's snapshots (JSON over /ws).
//
// Snapshot keys used, all optional (a missing one leaves its part of the page empty):
//   run_id, scheme, mode, n, m, ell, d, iterations, iteration, completed, phase, epoch, ready,
//   elapsed_seconds, state[] (only when workers is missing), coverage[], workers[{id, name,
//   connected, status, slow, chunks_done, assigned, since_progress_seconds}],
//   history[{iteration, seconds, loss, accuracy}], baseline{label, seconds[]},
//   events[{t, iteration, text}].
// history, baseline and events are whole (bounded) series in every snapshot, so a page that
// connects late or misses snapshots still draws everything; a new run_id (another PS on the
// same port, e.g. the second cluster of `pgc launch --compare`) resets the charts.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);

  // ---- connection ---------------------------------------------------------------------------

  // A token given to the page (?token=T) goes to the WebSocket too; the server also set it as
  // a cookie, this covers browsers that refuse it.
  const token = new URLSearchParams(location.search).get('token');
  const wsUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws' +
      (token ? '?token=' + encodeURIComponent(token) : '');

  const minDelayMs = 250;
  const maxDelayMs = 5000;
  let delayMs = minDelayMs;
  let socket = null;

  function setConnection(state, text) {
    const box = $('connection');
    box.dataset.state = state;
    $('connection-text').textContent = text;
  }

  function connect() {
    setConnection('connecting', 'connecting');
    socket = new WebSocket(wsUrl);
    socket.onopen = () => setConnection('live', 'live');
    socket.onmessage = (message) => {
      delayMs = minDelayMs;  // the server works: reconnect fast next time
      let snapshot;
      try {
        snapshot = JSON.parse(message.data);
      } catch (e) {
        console.warn('pgc dashboard: bad snapshot', e);
        return;
      }
      schedule(snapshot);
    };
    socket.onclose = () => {
      socket = null;
      // Backoff with jitter: a restarted PS is picked up within a few seconds, and many open
      // pages do not hammer it in step.
      const wait = Math.round(delayMs * (0.75 + Math.random() * 0.5));
      setConnection('closed', 'reconnecting in ' + (wait / 1000).toFixed(1) + ' s');
      delayMs = Math.min(maxDelayMs, delayMs * 2);
      setTimeout(connect, wait);
    };
    socket.onerror = () => { /* onclose follows and reconnects */ };
  }

  // Snapshots can come faster than frames: draw only the latest one, once per frame.
  let latest = null;
  let drawScheduled = false;
  function schedule(snapshot) {
    latest = snapshot;
    if (drawScheduled) return;
    drawScheduled = true;
    requestAnimationFrame(() => {
      drawScheduled = false;
      render(latest);
    });
  }

  // ---- helpers ------------------------------------------------------------------------------

  const isNum = (x) => typeof x === 'number' && Number.isFinite(x);
  const show = (x) => (x === undefined || x === null ? '–' : String(x));
  function setText(id, text) {
    const el = $(id);
    if (el.textContent !== text) el.textContent = text;
  }
  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  // ---- header -------------------------------------------------------------------------------

  function renderHeader(s) {
    setText('scheme', show(s.scheme));
    setText('mode', show(s.mode));
    setText('n', show(s.n));
    setText('m', show(s.m));
    setText('ell', show(s.ell));
    setText('d', show(s.d));
    // Shown 1-based: "k / iterations" reads "40 / 40" at the end. data-iteration keeps the
    // snapshot's 0-based value.
    let k = null;
    if (s.phase === 'finished' && isNum(s.completed)) {
      k = s.completed;
    } else if (isNum(s.iteration)) {
      k = s.iteration + 1;
      if (isNum(s.iterations)) k = Math.min(k, s.iterations);
    } else if (isNum(s.completed)) {
      k = s.completed;
    }
    const iteration = $('iteration');
    setText('iteration', show(k));
    iteration.dataset.iteration = isNum(s.iteration) ? String(s.iteration) : '';
    setText('iterations', isNum(s.iterations) ? String(s.iterations) : '∞');
    const phase = $('phase');
    phase.dataset.phase = s.phase || '';
    setText('phase', show(s.phase));
    setText('epoch', isNum(s.epoch) && s.epoch > 0 ? 'epoch ' + s.epoch : '');
    const ready = $('ready');
    ready.dataset.ready = String(s.ready === true);
    setText('ready', s.ready === true && s.phase !== 'finished' ? 'decodable' : '');
    setText('elapsed', isNum(s.elapsed_seconds) && s.phase !== 'finished'
                           ? s.elapsed_seconds.toFixed(2) + ' s into the iteration' : '');
    setText('run-id', s.run_id ? 'run ' + s.run_id : '');
  }

  // ---- workers ------------------------------------------------------------------------------

  const workerRows = new Map();  // id -> {root, name, fill, count, status}

  function workerRow(id) {
    let row = workerRows.get(id);
    if (row) return row;
    const root = document.createElement('div');
    root.className = 'worker';
    root.dataset.worker = String(id);
    const name = document.createElement('span');
    name.className = 'name';
    const bar = document.createElement('div');
    bar.className = 'bar';
    const fill = document.createElement('div');
    fill.className = 'fill';
    bar.appendChild(fill);
    const count = document.createElement('span');
    count.className = 'count';
    const status = document.createElement('span');
    status.className = 'status';
    root.append(name, bar, count, status);
    row = {root, name, fill, count, status};
    workerRows.set(id, row);
    return row;
  }

  function renderWorkers(s) {
    const state = Array.isArray(s.state) ? s.state : [];
    // Without the workers list, the state vector still gives one bar per worker.
    const workers = Array.isArray(s.workers) ? s.workers
                                             : state.map((done, id) => ({id, chunks_done: done}));
    const box = $('workers');
    const seen = new Set();
    workers.forEach((w, index) => {
      const id = isNum(w.id) ? w.id : index;
      seen.add(id);
      const row = workerRow(id);
      if (box.children[index] !== row.root) box.insertBefore(row.root, box.children[index] || null);
      const done = isNum(w.chunks_done) ? w.chunks_done : (isNum(state[id]) ? state[id] : 0);
      const assigned = isNum(w.assigned) ? w.assigned : 0;
      const fraction = assigned > 0 ? Math.max(0, Math.min(1, done / assigned)) : 0;
      const failed = w.connected === false || w.status === 'failed' || w.status === 'disconnected';
      row.root.dataset.done = String(done);
      row.root.dataset.status = w.status || '';
      row.root.classList.toggle('failed', failed);
      row.root.classList.toggle('slow', !failed && w.slow === true);
      row.root.classList.toggle('done', !failed && assigned > 0 && done >= assigned);
      row.fill.style.width = (fraction * 100).toFixed(1) + '%';
      row.name.textContent = w.name || 'w' + id;
      row.name.title = row.name.textContent;
      row.count.textContent = done + ' / ' + assigned;
      let status = w.status || (failed ? 'disconnected' : '');
      if (w.slow === true && !failed) status += ' · slow';
      if (isNum(w.since_progress_seconds) && !failed && w.status === 'computing' &&
          w.since_progress_seconds >= 1) {
        status += ' · no progress for ' + w.since_progress_seconds.toFixed(1) + ' s';
      }
      row.status.textContent = status;
    });
    for (const [id, row] of workerRows) {
      if (!seen.has(id)) {
        row.root.remove();
        workerRows.delete(id);
      }
    }
  }

  // ---- coverage -----------------------------------------------------------------------------

  function renderCoverage(s) {
    const coverage = Array.isArray(s.coverage) ? s.coverage : [];
    const ell = isNum(s.ell) ? s.ell : 1;
    const box = $('coverage');
    while (box.children.length > coverage.length) box.lastChild.remove();
    while (box.children.length < coverage.length) {
      const cell = document.createElement('div');
      cell.className = 'cell';
      box.appendChild(cell);
    }
    let full = 0;
    coverage.forEach((copies, i) => {
      const cell = box.children[i];
      const c = isNum(copies) ? copies : 0;
      const kind = c <= 0 ? 'cell empty' : c < ell ? 'cell partial' : 'cell full';
      if (cell.className !== kind) cell.className = kind;
      cell.dataset.copies = String(c);
      cell.title = 'chunk ' + i + ': ' + c + (c === 1 ? ' copy' : ' copies');
      if (c >= ell) ++full;
    });
    setText('coverage-summary', coverage.length ? full + ' of ' + coverage.length + ' chunks with ≥ ℓ copies' : '');
  }

  // ---- charts -------------------------------------------------------------------------------

  const charts = {};

  function makeChart(canvasId, yLabel, extra) {
    if (typeof Chart === 'undefined') return null;  // chart.js failed to load: the rest works
    const grid = css('--track');
    const muted = css('--muted');
    return new Chart($(canvasId), {
      type: 'line',
      data: {datasets: []},
      options: Object.assign({
        animation: false,
        maintainAspectRatio: false,
        responsive: true,
        parsing: false,
        normalized: true,
        interaction: {mode: 'nearest', axis: 'x', intersect: false},
        plugins: {
          legend: {labels: {color: muted, boxWidth: 12}},
          tooltip: {enabled: true},
        },
        scales: {
          x: {type: 'linear', title: {display: true, text: 'iteration', color: muted},
              ticks: {color: muted, precision: 0}, grid: {color: grid}},
          y: {title: {display: true, text: yLabel, color: muted}, beginAtZero: true,
              ticks: {color: muted}, grid: {color: grid}},
        },
      }, extra || {}),
    });
  }

  function series(label, color, points, dashed) {
    return {
      label,
      data: points,
      borderColor: color,
      backgroundColor: color,
      borderWidth: 2,
      borderDash: dashed ? [6, 4] : [],
      pointRadius: points.length > 60 ? 0 : 2,
      tension: 0,
    };
  }

  function setSeries(chart, datasets) {
    if (!chart) return;
    chart.data.datasets = datasets;
    chart.update('none');
  }

  function renderCharts(s) {
    if (!charts.time) {
      charts.time = makeChart('time-chart', 'seconds');
      charts.loss = makeChart('loss-chart', 'loss');
      // The loss changes little against its size: its own range shows the trend.
      if (charts.loss) charts.loss.options.scales.y.beginAtZero = false;
      charts.accuracy = makeChart('accuracy-chart', 'accuracy');
      if (charts.accuracy) charts.accuracy.options.scales.y.suggestedMax = 1;
    }
    const history = Array.isArray(s.history) ? s.history : [];
    const time = [];
    const loss = [];
    const accuracy = [];
    for (const h of history) {
      if (!isNum(h.iteration)) continue;
      if (isNum(h.seconds)) time.push({x: h.iteration, y: h.seconds});
      if (isNum(h.loss)) loss.push({x: h.iteration, y: h.loss});
      if (isNum(h.accuracy)) accuracy.push({x: h.iteration, y: h.accuracy});
    }
    const timeSets = [series(s.scheme ? String(s.scheme) : 'this run', css('--accent'), time, false)];
    const b = s.baseline;
    if (b && Array.isArray(b.seconds) && b.seconds.length) {
      // The baseline's i-th time is its iteration i: same x axis as this run.
      const points = [];
      b.seconds.forEach((y, x) => { if (isNum(y)) points.push({x, y}); });
      timeSets.push(series(b.label ? String(b.label) : 'baseline', css('--amber'), points, true));
    }
    setSeries(charts.time, timeSets);
    if (time.length) {
      const mean = time.reduce((a, p) => a + p.y, 0) / time.length;
      const last = time[time.length - 1].y;
      setText('time-summary', 'last ' + last.toFixed(3) + ' s · mean ' + mean.toFixed(3) + ' s');
    } else {
      setText('time-summary', '');
    }
    $('loss-panel').hidden = loss.length === 0;
    $('accuracy-panel').hidden = accuracy.length === 0;
    // One of the two alone takes the whole row.
    $('loss-panel').classList.toggle('wide', !accuracy.length);
    $('accuracy-panel').classList.toggle('wide', !loss.length);
    document.querySelector('.charts').classList.toggle('time-only', !loss.length && !accuracy.length);
    if (loss.length) setSeries(charts.loss, [series('loss', css('--red'), loss, false)]);
    if (accuracy.length) setSeries(charts.accuracy, [series('accuracy', css('--green'), accuracy, false)]);
  }

  // ---- events -------------------------------------------------------------------------------

  let eventsKey = '';

  function renderEvents(s) {
    const events = Array.isArray(s.events) ? s.events : [];
    // Redraw only when the bounded list changed (its length or its newest entry).
    const newest = events.length ? events[events.length - 1] : null;
    const key = events.length + '|' + (newest ? newest.t + '|' + newest.text : '');
    if (key === eventsKey) return;
    eventsKey = key;
    const list = $('events');
    const items = [];
    for (let i = events.length - 1; i >= 0; --i) {  // latest first
      const e = events[i] || {};
      const li = document.createElement('li');
      const t = document.createElement('span');
      t.className = 't';
      t.textContent = isNum(e.t) ? e.t.toFixed(2) + ' s' : '';
      const it = document.createElement('span');
      it.className = 'it';
      it.textContent = isNum(e.iteration) ? 'it ' + e.iteration : '';
      const text = document.createElement('span');
      text.textContent = e.text ? String(e.text) : '';
      li.append(t, it, text);
      items.push(li);
    }
    list.replaceChildren(...items);
  }

  // ---- snapshot -----------------------------------------------------------------------------

  let runId = null;

  function reset() {
    for (const row of workerRows.values()) row.root.remove();
    workerRows.clear();
    $('coverage').replaceChildren();
    $('events').replaceChildren();
    eventsKey = '';
    for (const chart of Object.values(charts)) if (chart) setSeries(chart, []);
  }

  function render(s) {
    if (!s || typeof s !== 'object') return;
    const id = s.run_id === undefined ? null : String(s.run_id);
    if (id !== runId) {
      if (runId !== null) reset();
      runId = id;
    }
    renderHeader(s);
    renderWorkers(s);
    renderCoverage(s);
    renderCharts(s);
    renderEvents(s);
  }

  connect();
})();
