// Dromedar's dashboard: plain JavaScript, no build step. Everything shown is data from
// the gateway's JSON routes, put on the page with textContent and createElement only
// (never innerHTML), so SQL text, error messages and Drillbit names cannot become markup.
// The token (when the gateway has tokens) is asked for once, kept in sessionStorage and
// sent as a Bearer header; it never goes into a URL.

const TOKEN_KEY = 'dromedar-token';
const POLL_MS = 1000;
const SHOWN_ROWS = 100;
const SVG = 'http://www.w3.org/2000/svg';

let token = sessionStorage.getItem(TOKEN_KEY);
let stopped = false;
let registry = true; // GET /v1/queries exists (the query registry); false after a 404
let maxSeen = 1;

const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'onclick') node.addEventListener('click', value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child ?? '')));
  return node;
}

function svg(tag, attrs = {}, title) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (title) {
    const t = document.createElementNS(SVG, 'title');
    t.textContent = title;
    node.append(t);
  }
  return node;
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// What a person should do about a failure, by status.
function advice(status, code) {
  if (status === 0) return 'The gateway does not answer: is it running, and is this its address? Retrying.';
  if (status === 401) return 'This gateway needs a token: reload the page and enter one of server.auth.tokens.';
  if (status === 403) return 'The gateway refused it (a policy, or a path outside the workspaces): change the query.';
  if (status === 400 || status === 413 || status === 415) return 'Fix the input and try again.';
  if (status === 503) return 'The gateway is busy or shutting down: try again in a few seconds.';
  if (status === 504 || code === 'scale_timeout') return 'The Drillbits did not come ONLINE in time: see the gateway log (a Drillbit that fails to start says why there), or raise pool.queueTimeoutMs (how long a query waits) or pool.drillbitStartTimeoutMs (how long a Drillbit may take).';
  if (status === 502) return 'Drill could not be reached or failed: see the gateway log; the pool replaces failed Drillbits.';
  if (status === 404) return 'This gateway does not have that route (an older version?).';
  return 'See the gateway log for details.';
}

function askToken() {
  const entered = window.prompt('This Dromedar gateway needs a token (one of server.auth.tokens):');
  if (entered === null || entered.trim() === '') {
    stopped = true;
    return false;
  }
  token = entered.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  return true;
}

/** A call to the gateway; asks for a token on 401 and tries again with it. */
async function api(method, path, body, type = 'application/json') {
  for (;;) {
    const used = token;
    const headers = {};
    if (used) headers.authorization = `Bearer ${used}`;
    if (body !== undefined) headers['content-type'] = type;
    let res;
    try {
      res = await fetch(path, { method, headers, body, cache: 'no-store', credentials: 'same-origin' });
    } catch (err) {
      throw new ApiError(0, 'unreachable', `${method} ${path}: ${err.message}`);
    }
    if (res.status === 401 && !stopped) {
      if (token !== used) continue; // another call has just got a new token
      if (askToken()) continue;
    }
    if (!res.ok) {
      let code = 'error';
      let message = `${method} ${path} answered ${res.status}`;
      try {
        const json = await res.json();
        code = json.error ?? code;
        message = json.message ?? json.errorMessage ?? message;
      } catch {
        /* not JSON */
      }
      throw new ApiError(res.status, code, message);
    }
    return res;
  }
}

const getJson = async (path) => (await api('GET', path)).json();

function showError(err) {
  const box = $('error');
  if (!err) {
    box.hidden = true;
    box.textContent = '';
    return;
  }
  box.hidden = false;
  box.textContent = `${err.message}\n${advice(err.status ?? 0, err.code)}`;
}

function bytes(n) {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

const ms = (n) => (n === null || n === undefined ? '' : n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`);
const clock = (t) => new Date(t).toLocaleTimeString();

// ---- the cluster now ----
function renderCluster(cluster) {
  const counts = { STARTING: 0, ONLINE: 0, DRAINING: 0, FAILED: 0 };
  for (const b of cluster.drillbits) counts[b.state] = (counts[b.state] ?? 0) + 1;
  $('cluster-summary').textContent = `desired ${cluster.desired} · online ${counts.ONLINE} · starting ${counts.STARTING} · draining ${counts.DRAINING} · queries running ${cluster.running}, waiting ${cluster.queued}`;
  const list = $('drillbits');
  const items = cluster.drillbits.map((b) =>
    el('li', { class: b.state, 'data-id': b.id }, el('span', { class: 'state' }, b.state), b.id, el('br'), el('span', { class: 'muted' }, `${b.address}:${b.httpPort}`)),
  );
  if (items.length === 0) items.push(el('li', { class: 'none muted' }, 'no Drillbits: the pool is at zero; a query starts what it needs'));
  list.replaceChildren(...items);
  const health = $('health');
  health.textContent = `gateway up · ${counts.ONLINE} online`;
  health.className = 'pill ok';
}

// ---- the timeline: desired vs observed, scale events ----
function renderTimeline(timeline) {
  const { samples, events, drillbitSeconds } = timeline;
  $('cost').textContent = `cost: ${drillbitSeconds.lastHour.toFixed(0)} Drillbit-seconds in the last hour (${(drillbitSeconds.lastHour / 3600).toFixed(2)} Drillbit-hours)`;
  const chart = $('timeline');
  const W = 800;
  const H = 200;
  const pad = { l: 28, r: 8, t: 10, b: 18 };
  const now = Date.now();
  const from = Math.max(samples.length ? samples[0].at : now - 60_000, now - 3_600_000);
  const span = Math.max(now - from, 10_000);
  for (const s of samples) maxSeen = Math.max(maxSeen, s.desired, s.starting + s.online + s.draining);
  const top = maxSeen;
  const x = (t) => pad.l + ((t - from) / span) * (W - pad.l - pad.r);
  const y = (v) => H - pad.b - (v / top) * (H - pad.t - pad.b);
  const nodes = [];
  for (let v = 0; v <= top; v++) {
    nodes.push(svg('line', { class: 'grid', x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v) }));
    const label = svg('text', { x: 4, y: y(v) + 4 });
    label.textContent = String(v);
    nodes.push(label);
  }
  const left = svg('text', { x: pad.l, y: H - 4 });
  left.textContent = clock(from);
  const right = svg('text', { x: W - pad.r - 60, y: H - 4 });
  right.textContent = clock(now);
  nodes.push(left, right);
  const step = (value) => {
    if (samples.length === 0) return '';
    let d = `M ${x(Math.max(samples[0].at, from))} ${y(value(samples[0]))}`;
    for (let i = 1; i < samples.length; i++) d += ` H ${x(samples[i].at)} V ${y(value(samples[i]))}`;
    return `${d} H ${x(now)}`;
  };
  nodes.push(svg('path', { class: 'starting', d: step((s) => s.starting) }, 'starting'));
  nodes.push(svg('path', { class: 'online', d: step((s) => s.online) }, 'online'));
  nodes.push(svg('path', { class: 'desired', d: step((s) => s.desired) }, 'desired'));
  for (const e of events) {
    const t = Date.parse(e.at);
    if (t < from) continue;
    nodes.push(svg('line', { class: `event ${e.to > e.from ? 'up' : 'down'}`, 'data-code': e.code, x1: x(t), x2: x(t), y1: pad.t, y2: H - pad.b }, `${clock(t)} ${e.from} → ${e.to} (${e.code}): ${e.reason}`));
  }
  chart.replaceChildren(...nodes);
  const list = $('events');
  list.replaceChildren(
    ...events
      .slice(-20)
      .reverse()
      .map((e) => el('li', { 'data-code': e.code }, `${clock(Date.parse(e.at))} `, el('span', { class: 'code' }, e.code), ` ${e.from} → ${e.to}: `, e.reason)),
  );
  if (events.length === 0) list.replaceChildren(el('li', { class: 'muted' }, 'no scale events yet'));
}

// ---- queries: running, queued, recent ----
const LIVE = new Set(['QUEUED', 'STARTING_DRILLBITS', 'RUNNING']);

function stateText(q) {
  if (q.state === 'STARTING_DRILLBITS' && q.progress) return `starting Drillbits ${q.progress.online}/${q.progress.wanted}`;
  return q.state;
}

function renderQueries(view) {
  const rows = [...view.running, ...view.queued, ...view.finished].map((q) =>
    el(
      'tr',
      { 'data-id': q.id, 'data-state': q.state },
      el('td', { class: `state-${q.state}`, title: q.error ? q.error.message : undefined }, stateText(q), q.error ? el('div', { class: 'muted' }, q.error.message) : ''),
      el('td', { class: 'sql', title: q.sql }, q.sql),
      el('td', { class: 'num' }, q.sizing ? bytes(q.sizing.bytes) : ''),
      el('td', { class: 'num' }, q.sizing ? q.sizing.qsf : ''),
      el('td', { class: 'num' }, q.leasedFor ?? q.sizing?.drillbits ?? ''),
      el('td', {}, q.drillbit ? q.drillbit.id : ''),
      el('td', { class: 'num' }, ms(q.durations.sizing)),
      el('td', { class: 'num' }, ms(q.durations.waiting)),
      el('td', { class: 'num' }, ms(q.durations.drill)),
      el('td', {}, q.frontEnd),
      el('td', {}, LIVE.has(q.state) ? el('button', { type: 'button', class: 'cancel' }, 'Cancel') : ''),
    ),
  );
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 11, class: 'muted' }, 'no queries yet')));
  // Re-rendered only when something changed: rows replaced under the pointer between a
  // press and its release would swallow the click on Cancel.
  const key = JSON.stringify(view);
  if (key === renderedQueries) return;
  renderedQueries = key;
  $('queries').tBodies[0].replaceChildren(...rows);
}

let renderedQueries = '';

// One listener for every Cancel button, present and future: the row names the query.
$('queries').tBodies[0].addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('button.cancel') : null;
  const id = button?.closest('tr')?.dataset.id;
  if (id) cancel(id);
});

async function cancel(id) {
  try {
    await api('DELETE', `/v1/queries/${encodeURIComponent(id)}`);
    showError(null);
  } catch (err) {
    showError(new ApiError(err.status, err.code, `Cancelling the query failed: ${err.message}`));
  }
  poll();
}

let lastQueries = { running: [], queued: [], finished: [] };

async function poll() {
  if (stopped) return;
  const [cluster, timeline, queries] = await Promise.allSettled([
    getJson('/v1/cluster'),
    getJson('/v1/timeline'),
    registry ? getJson('/v1/queries') : Promise.resolve(null),
  ]);
  if (cluster.status === 'fulfilled') renderCluster(cluster.value);
  if (timeline.status === 'fulfilled') renderTimeline(timeline.value);
  if (queries.status === 'fulfilled' && queries.value) {
    lastQueries = queries.value;
    renderQueries(queries.value);
  } else if (queries.status === 'rejected' && queries.reason.status === 404) {
    registry = false;
    $('queries-note').hidden = false;
    $('queries-note').textContent = 'This gateway has no query registry (GET /v1/queries): only the queries run from this page are listed.';
  }
  const failed = [cluster, timeline].find((r) => r.status === 'rejected');
  if (failed) {
    const health = $('health');
    health.textContent = failed.reason.status === 0 ? 'gateway unreachable' : `error ${failed.reason.status}`;
    health.className = 'pill bad';
    showError(failed.reason);
  } else if (!sqlError) showError(null);
}

// ---- the SQL box ----
let sqlError = false;

async function progressOf(sql) {
  if (registry) {
    const q = [...lastQueries.queued, ...lastQueries.running].find((x) => x.sql === sql);
    if (q) return q.state === 'RUNNING' ? `running on ${q.drillbit ? q.drillbit.id : 'a Drillbit'}` : stateText(q);
  }
  const cluster = await getJson('/v1/cluster');
  const online = cluster.drillbits.filter((b) => b.state === 'ONLINE').length;
  return cluster.queued > 0 ? `starting Drillbits ${online}/${cluster.desired}` : 'running';
}

function resultTable(answer) {
  const columns = answer.columns ?? (answer.rows?.[0] ? Object.keys(answer.rows[0]) : []);
  const rows = (answer.rows ?? []).slice(0, SHOWN_ROWS);
  return el(
    'table',
    { id: 'rows' },
    el('thead', {}, el('tr', {}, ...columns.map((c) => el('th', {}, c)))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...columns.map((c) => el('td', {}, r[c] === null || r[c] === undefined ? '' : typeof r[c] === 'object' ? JSON.stringify(r[c]) : r[c]))))),
  );
}

async function runSql(event) {
  event.preventDefault();
  const sql = $('sql').value.trim();
  if (!sql) return;
  const progress = $('progress');
  const result = $('result');
  const button = $('run');
  button.disabled = true;
  result.replaceChildren();
  progress.textContent = 'sizing…';
  const started = performance.now();
  let done = false;
  const ticker = (async () => {
    while (!done) {
      await new Promise((r) => setTimeout(r, 400));
      if (done) break;
      try {
        const text = await progressOf(sql);
        if (!done) progress.textContent = `${text} · ${ms(performance.now() - started)}`;
      } catch {
        /* the poll shows what is wrong */
      }
    }
  })();
  try {
    const res = await api('POST', '/query', sql, 'text/plain');
    const answer = await res.json();
    done = true;
    const h = (name) => res.headers.get(name);
    const decision = `${bytes(Number(h('dromedar-dataset-bytes')))} at QSF ${h('dromedar-qsf')} → ${h('dromedar-drillbits')} Drillbit(s), ran on ${h('dromedar-drillbit')} · ${h('server-timing') ?? ''}`;
    if (answer.queryState === 'FAILED' || answer.errorMessage) {
      sqlError = true;
      progress.textContent = `FAILED after ${ms(performance.now() - started)}`;
      showError(new ApiError(200, 'drill_failed', `Drill could not run the query: ${answer.errorMessage ?? 'no message'}`));
    } else {
      sqlError = false;
      const n = answer.rows ? answer.rows.length : 0;
      progress.textContent = `${answer.queryState ?? 'COMPLETED'}: ${n} row(s)${n > SHOWN_ROWS ? `, showing the first ${SHOWN_ROWS}` : ''} in ${ms(performance.now() - started)}`;
      result.replaceChildren(el('p', { class: 'muted', id: 'decision' }, decision), resultTable(answer));
      showError(null);
    }
  } catch (err) {
    done = true;
    sqlError = true;
    progress.textContent = `${err.code} (${err.status || 'no answer'})`;
    showError(new ApiError(err.status, err.code, `The query did not run: ${err.message}`));
  } finally {
    done = true;
    button.disabled = false;
    await ticker;
    poll();
  }
}

// ---- the QSF ----
async function loadQsf() {
  try {
    const { qsf } = await getJson('/v1/qsf');
    $('qsf').value = String(qsf);
  } catch (err) {
    showError(err);
  }
}

async function setQsf(event) {
  event.preventDefault();
  const note = $('qsf-note');
  try {
    const res = await api('PUT', '/v1/qsf', JSON.stringify({ qsf: Number($('qsf').value) }));
    const { qsf } = await res.json();
    $('qsf').value = String(qsf);
    note.textContent = `set to ${qsf}`;
  } catch (err) {
    note.textContent = '';
    showError(new ApiError(err.status, err.code, `The QSF was not changed: ${err.message}`));
  }
}

$('sql-form').addEventListener('submit', runSql);
$('qsf-form').addEventListener('submit', setQsf);
$('sql').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) $('sql-form').requestSubmit();
});

await loadQsf();
await poll();
const timer = setInterval(() => (stopped ? clearInterval(timer) : poll()), POLL_MS);
