// Herd's web console: a client of Herd's REST API (/v1/...) and of its
// authenticating proxy (/k8s/clusters/NAME/...), logged in with the
// console's HttpOnly session cookie. Every change carries the session's
// CSRF token. Text from the server only ever becomes DOM text (never
// HTML), so names, labels and messages cannot run as script.
'use strict';

const state = { user: null, csrf: '', expiresAt: null, generation: 0, timers: [], sockets: [], keepFlash: false };
const PAGE = 50; // objects per page of a Kubernetes list

// ---- DOM ------------------------------------------------------------

function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const kid of kids) {
    if (kid === null || kid === undefined || kid === false) continue;
    if (Array.isArray(kid)) append(el, kid);
    else if (kid instanceof Node) el.appendChild(kid);
    else el.appendChild(document.createTextNode(String(kid)));
  }
}

function view() { return document.getElementById('view'); }

function show(...kids) {
  const v = view();
  v.replaceChildren();
  append(v, kids);
}

function flash(message, kind) {
  const f = document.getElementById('flash');
  f.className = message ? kind || 'error' : '';
  f.textContent = message;
  f.hidden = !message;
}

function errorBox(err) {
  return h('div', { class: 'error', 'data-status': err.status || '' }, errorText(err));
}

function errorText(err) {
  if (err && err.status === 403) return 'Refused: ' + err.message;
  return (err && err.message) || String(err);
}

function badge(text, kind) { return h('span', { class: 'badge ' + (kind || '') }, text); }

function condition(value, label) {
  if (value === 'True') return badge(label, 'ok');
  if (value === 'False') return badge('Not ' + label.toLowerCase(), 'bad');
  return badge(label + ': unknown', 'warn');
}

function age(ts) {
  if (!ts) return '';
  const s = Math.max(0, Math.round((Date.now() - new Date(ts).getTime()) / 1000));
  if (s < 120) return s + 's';
  if (s < 7200) return Math.round(s / 60) + 'm';
  if (s < 172800) return Math.round(s / 3600) + 'h';
  return Math.round(s / 86400) + 'd';
}

function table(columns, rows, empty) {
  if (!rows.length) return h('p', { class: 'muted' }, empty || 'None.');
  return h('table', null,
    h('thead', null, h('tr', null, columns.map((c) => h('th', null, c)))),
    h('tbody', null, rows));
}

// ---- API ------------------------------------------------------------

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function message(text, status) {
  try {
    const s = JSON.parse(text);
    if (s && typeof s.message === 'string' && s.message) return s.message;
  } catch (_) { /* not JSON */ }
  const t = (text || '').trim();
  if (t && t.length < 400 && !t.startsWith('<')) return t;
  return 'the server answered ' + status;
}

async function call(method, path, opts) {
  const o = opts || {};
  const headers = { Accept: o.accept || 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-Herd-CSRF'] = state.csrf;
  if (o.body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, { method, headers, credentials: 'same-origin', cache: 'no-store', redirect: 'error',
      body: o.body === undefined ? undefined : JSON.stringify(o.body) });
  } catch (e) {
    throw new HttpError(0, 'Herd cannot be reached: ' + e.message);
  }
  const text = await resp.text();
  if (resp.status === 401 && !o.anonymous) {
    expired();
    throw new HttpError(401, 'Your session has ended: log in again.');
  }
  if (!resp.ok) throw new HttpError(resp.status, message(text, resp.status));
  if (o.raw) return text;
  return text ? JSON.parse(text) : null;
}

const get = (path, opts) => call('GET', path, opts);
const proxy = (cluster, path) => '/k8s/clusters/' + encodeURIComponent(cluster) + path;

function expired() {
  const had = state.user !== null;
  state.user = null;
  state.csrf = '';
  header();
  if (location.hash !== '#/login') {
    sessionStorage.setItem('herd.after-login', location.hash);
    state.keepFlash = true; // through the hash change to the login
    location.hash = '#/login';
  }
  if (had) flash('Your session has ended (it expired, was revoked, or you logged out elsewhere). Log in again to go on.', 'notice');
}

// ---- session and routing -------------------------------------------

function header() {
  const logged = state.user !== null;
  document.getElementById('nav').hidden = !logged;
  document.getElementById('logout').hidden = !logged;
  document.getElementById('who').textContent = logged ? who(state.user) : '';
  const path = location.hash.split('/')[1] || '';
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.getAttribute('href') === '#/' + path);
  }
}

function who(u) { return u.displayName && u.displayName !== u.username ? u.displayName + ' (' + u.username + ')' : u.username; }

function setSession(s) {
  state.user = s.user;
  state.csrf = s.csrfToken;
  state.expiresAt = s.expiresAt;
}

async function loadSession() {
  try {
    setSession(await get('/v1/session', { anonymous: true }));
  } catch (e) {
    state.user = null;
    if (e.status !== 401) flash(errorText(e));
  }
}

function leave() {
  state.generation++;
  for (const t of state.timers) clearInterval(t);
  for (const s of state.sockets) s.close();
  state.timers = [];
  state.sockets = [];
}

// current reports whether a page's async work still belongs on screen.
function current(gen) { return gen === state.generation; }

function every(ms, fn) { state.timers.push(setInterval(fn, ms)); }

const routes = [
  [/^#\/login$/, pageLogin],
  [/^#\/clusters\/([^/]+)\/pods\/([^/]+)\/([^/]+)$/, pagePod],
  [/^#\/clusters\/([^/]+)\/yaml\/(.+)$/, pageYAML],
  [/^#\/clusters\/([^/]+)(?:\/([a-z]+))?$/, pageCluster],
  [/^#\/clusters$/, pageClusters],
  [/^#\/import$/, pageImport],
  [/^#\/users$/, pageUsers],
  [/^#\/roles$/, pageRoles],
  [/^#\/projects$/, pageProjects],
  [/^#\/members(?:\/(.+))?$/, pageMembers],
  [/^#\/tokens$/, pageTokens],
  [/^#\/bundles\/([^/]+)$/, pageBundle],
  [/^#\/bundles$/, pageBundles],
  [/^#\/sessions\/([^/]+)$/, pageSession],
  [/^#\/sessions$/, pageSessions],
];

async function route() {
  leave();
  const hash = location.hash || '#/clusters';
  if (state.user === null && hash !== '#/login') {
    sessionStorage.setItem('herd.after-login', hash);
    location.hash = '#/login';
    return;
  }
  header();
  for (const [re, page] of routes) {
    const m = hash.match(re);
    if (m) {
      const gen = state.generation;
      try {
        await page(gen, ...m.slice(1).map((x) => (x === undefined ? x : decodeURIComponent(x))));
      } catch (e) {
        if (current(gen) && e.status !== 401) show(errorBox(e));
      }
      return;
    }
  }
  show(h('h1', null, 'Not found'), h('p', null, 'There is no page ', h('code', null, hash), '. ', h('a', { href: '#/clusters' }, 'Go to the clusters.')));
}

// ---- login ------------------------------------------------------------

async function pageLogin(gen) {
  if (state.user !== null) { location.hash = '#/clusters'; return; }
  let providers = [];
  try {
    providers = (await get('/v1/auth/providers', { anonymous: true })).items || [];
  } catch (e) {
    flash(errorText(e));
  }
  if (!current(gen)) return;
  const password = providers.filter((p) => p.flow === 'password');
  const redirect = providers.filter((p) => p.flow === 'redirect');
  const err = h('div');
  const provider = h('select', { id: 'provider', name: 'provider' }, password.map((p) => h('option', { value: p.type }, providerName(p.type))));
  const username = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const pw = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit' }, 'Log in');
  const form = h('form', { class: 'card', id: 'login-form', method: 'post', onsubmit: async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    err.replaceChildren();
    try {
      setSession(await call('POST', '/v1/login', { anonymous: true, body: {
        username: username.value, password: pw.value, provider: provider.value === 'local' ? '' : provider.value, kind: 'browser' } }));
      flash('');
      const after = sessionStorage.getItem('herd.after-login');
      sessionStorage.removeItem('herd.after-login');
      location.hash = after && after !== '#/login' ? after : '#/clusters';
    } catch (e) {
      err.replaceChildren(errorBox(e.status === 401 ? new HttpError(401, 'Wrong username or password.') : e));
      pw.value = '';
    } finally {
      submit.disabled = false;
    }
  } },
  h('h1', null, 'Log in to Herd'),
  password.length > 1 ? [h('label', { for: 'provider' }, 'Identity provider'), provider] : null,
  h('label', { for: 'username' }, 'Username'), username,
  h('label', { for: 'password' }, 'Password'), pw,
  h('div', { class: 'row' }, submit), err);
  const others = redirect.map((p) => h('button', { type: 'button', class: 'plain', 'data-provider': p.type, onclick: () => redirectLogin(p.type, err) },
    'Log in with ' + providerName(p.type)));
  show(h('div', { class: 'login' }, form, others.length ? h('div', { class: 'card' }, h('div', { class: 'row' }, others)) : null));
  if (password.length <= 1) provider.value = 'local';
}

function providerName(type) {
  return { local: 'Local users', ldap: 'LDAP', activedirectory: 'Active Directory', github: 'GitHub', oidc: 'OpenID Connect', saml: 'SAML' }[type] || type;
}

async function redirectLogin(type, err) {
  try {
    const r = await call('POST', '/v1/auth/login/' + encodeURIComponent(type), { anonymous: true, body: { console: true } });
    sessionStorage.setItem('herd.after-login', sessionStorage.getItem('herd.after-login') || '#/clusters');
    location.assign(r.authURL);
  } catch (e) {
    err.replaceChildren(errorBox(e));
  }
}

async function logout() {
  try { await call('POST', '/v1/logout'); } catch (_) { /* the session is gone either way */ }
  state.user = null;
  state.csrf = '';
  location.hash = '#/login';
  header();
}

// ---- clusters -----------------------------------------------------------

function quantity(c, key) {
  const alloc = (c.allocatable || {})[key];
  if (!alloc) return '';
  const req = (c.requested || {})[key];
  return (req || '0') + ' / ' + alloc;
}

function clusterRow(c) {
  return h('tr', { 'data-cluster': c.name },
    h('td', null, h('a', { href: '#/clusters/' + encodeURIComponent(c.name) }, c.name),
      c.displayName ? h('div', { class: 'muted display-name' }, c.displayName) : null),
    h('td', { class: 'state' }, c.deleting ? badge('Deleting', 'warn') : [condition(c.connected, 'Connected'), ' ', condition(c.ready, 'Ready')],
      c.message ? h('div', { class: 'muted' }, c.message) : null),
    h('td', null, c.version || ''),
    h('td', { class: 'num' }, String(c.nodeCount || 0)),
    h('td', { class: 'num' }, quantity(c, 'cpu')),
    h('td', { class: 'num' }, quantity(c, 'memory')),
    h('td', { class: 'num' }, String(c.connectedAgents || 0)),
    h('td', null, c.lastSeen ? age(c.lastSeen) + ' ago' : ''));
}

async function pageClusters(gen) {
  const body = h('div', { id: 'cluster-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const status = h('span', { class: 'muted' });
  show(h('div', { class: 'row' }, h('h1', null, 'Clusters'), status, h('a', { href: '#/import' }, 'Import a cluster')), body);
  const refresh = async () => {
    try {
      const list = await get('/v1/clusters');
      if (!current(gen)) return;
      body.replaceChildren(table(['Name', 'State', 'Version', 'Nodes', 'CPU requested / allocatable', 'Memory requested / allocatable', 'Agents', 'Last seen'],
        (list.items || []).map(clusterRow), 'No clusters yet. Import one, or create one with herdctl.'));
      status.textContent = 'updated ' + new Date().toLocaleTimeString();
    } catch (e) {
      if (current(gen)) body.replaceChildren(errorBox(e));
    }
  };
  await refresh();
  every(2000, refresh);
}

const TABS = ['nodes', 'namespaces', 'workloads', 'pods', 'events', 'terminal'];

async function pageCluster(gen, name, tab) {
  tab = tab || 'nodes';
  const c = await get('/v1/clusters/' + encodeURIComponent(name));
  if (!current(gen)) return;
  const provisioned = !!(c.kubernetesVersion || (c.machinePools || []).length);
  const tabs = TABS.concat(provisioned ? ['machines', 'snapshots'] : []);
  const base = '#/clusters/' + encodeURIComponent(name);
  const content = h('div', { id: 'tab' });
  show(
    h('div', { class: 'row' }, h('h1', null, c.displayName || c.name), condition(c.connected, 'Connected'), condition(c.ready, 'Ready'),
      h('span', { class: 'muted' }, (c.version || '') + ' · ' + (c.nodeCount || 0) + ' nodes'),
      h('button', { type: 'button', class: 'plain', onclick: () => downloadKubeconfig(name) }, 'Download kubeconfig')),
    c.description ? h('p', { class: 'muted' }, c.description) : null,
    c.message ? h('div', { class: 'notice' }, c.message) : null,
    c.upgrade ? h('div', { class: 'notice' }, 'Upgrade: ' + c.upgrade) : null,
    h('div', { class: 'tabs' }, tabs.map((t) => h('a', { href: base + '/' + t, class: t === tab ? 'active' : '' }, t[0].toUpperCase() + t.slice(1)))),
    content);
  const pages = { nodes: tabNodes, namespaces: tabNamespaces, workloads: tabWorkloads, pods: tabPods, events: tabEvents,
    terminal: tabTerminal, machines: tabMachines, snapshots: tabSnapshots };
  if (!pages[tab]) { content.append(errorBox(new HttpError(404, 'No tab ' + tab))); return; }
  try {
    await pages[tab](gen, name, content, c);
  } catch (e) {
    if (current(gen) && e.status !== 401) content.replaceChildren(errorBox(e));
  }
}

function yamlLink(cluster, path) {
  return h('a', { href: '#/clusters/' + encodeURIComponent(cluster) + '/yaml/' + encodeURIComponent(path), class: 'yaml' }, 'YAML');
}

// paged lists a Kubernetes collection a page at a time with the API's
// continue token: long lists never load at once.
async function paged(gen, cluster, path, into, columns, row, empty) {
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'plain more', hidden: true }, 'Show more');
  const count = h('span', { class: 'muted' });
  let cont = '';
  let shown = 0;
  const load = async () => {
    more.disabled = true;
    const sep = path.includes('?') ? '&' : '?';
    const list = await get(proxy(cluster, path + sep + 'limit=' + PAGE + (cont ? '&continue=' + encodeURIComponent(cont) : '')));
    if (!current(gen)) return;
    for (const item of list.items || []) tbody.append(row(item));
    shown += (list.items || []).length;
    cont = (list.metadata && list.metadata.continue) || '';
    const rest = list.metadata && list.metadata.remainingItemCount;
    count.textContent = shown + ' shown' + (cont ? (rest ? ', ' + rest + ' more' : ', more to show') : '');
    more.hidden = !cont;
    more.disabled = false;
  };
  more.addEventListener('click', () => load().catch((e) => into.append(errorBox(e))));
  await load();
  if (!current(gen)) return;
  into.append(shown === 0 ? h('p', { class: 'muted' }, empty)
    : h('table', null, h('thead', null, h('tr', null, columns.map((c) => h('th', null, c)))), tbody), h('div', { class: 'row' }, count, more));
}

function nodeReady(n) {
  const c = ((n.status || {}).conditions || []).find((x) => x.type === 'Ready');
  return c ? c.status : 'Unknown';
}

async function tabNodes(gen, cluster, into) {
  await paged(gen, cluster, '/api/v1/nodes', into, ['Name', 'Ready', 'Roles', 'Version', 'CPU', 'Memory', 'Age', ''], (n) => {
    const roles = Object.keys(n.metadata.labels || {}).filter((l) => l.startsWith('node-role.kubernetes.io/')).map((l) => l.slice(24));
    const cap = (n.status || {}).allocatable || {};
    return h('tr', { 'data-node': n.metadata.name }, h('td', null, n.metadata.name), h('td', null, condition(nodeReady(n), 'Ready')),
      h('td', null, roles.join(', ')), h('td', null, ((n.status || {}).nodeInfo || {}).kubeletVersion || ''),
      h('td', { class: 'num' }, cap.cpu || ''), h('td', { class: 'num' }, cap.memory || ''), h('td', null, age(n.metadata.creationTimestamp)),
      h('td', null, yamlLink(cluster, '/api/v1/nodes/' + n.metadata.name)));
  }, 'No nodes.');
}

async function tabNamespaces(gen, cluster, into) {
  await paged(gen, cluster, '/api/v1/namespaces', into, ['Name', 'Status', 'Labels', 'Age', ''], (ns) => h('tr', { 'data-namespace': ns.metadata.name },
    h('td', null, ns.metadata.name), h('td', null, (ns.status || {}).phase || ''),
    h('td', { class: 'labels' }, Object.entries(ns.metadata.labels || {}).map(([k, v]) => k + '=' + v).join(', ')),
    h('td', null, age(ns.metadata.creationTimestamp)), h('td', null, yamlLink(cluster, '/api/v1/namespaces/' + ns.metadata.name))), 'No namespaces.');
}

async function tabWorkloads(gen, cluster, into) {
  for (const [kind, plural] of [['Deployments', 'deployments'], ['StatefulSets', 'statefulsets'], ['DaemonSets', 'daemonsets']]) {
    into.append(h('h2', null, kind));
    await paged(gen, cluster, '/apis/apps/v1/' + plural, into, ['Namespace', 'Name', 'Ready', 'Age', ''], (o) => {
      const s = o.status || {};
      const ready = plural === 'daemonsets' ? (s.numberReady || 0) + '/' + (s.desiredNumberScheduled || 0)
        : (s.readyReplicas || 0) + '/' + ((o.spec || {}).replicas ?? 1);
      return h('tr', null, h('td', null, o.metadata.namespace), h('td', null, o.metadata.name), h('td', null, ready),
        h('td', null, age(o.metadata.creationTimestamp)),
        h('td', null, yamlLink(cluster, '/apis/apps/v1/namespaces/' + o.metadata.namespace + '/' + plural + '/' + o.metadata.name)));
    }, 'None.');
    if (!current(gen)) return;
  }
}

async function tabPods(gen, cluster, into) {
  const ns = h('input', { class: 'inline', id: 'pod-namespace', placeholder: 'all namespaces', value: sessionStorage.getItem('herd.pods.ns') || '' });
  const list = h('div');
  const load = async () => {
    list.replaceChildren();
    sessionStorage.setItem('herd.pods.ns', ns.value.trim());
    const path = ns.value.trim() ? '/api/v1/namespaces/' + encodeURIComponent(ns.value.trim()) + '/pods' : '/api/v1/pods';
    try {
      await paged(gen, cluster, path, list, ['Namespace', 'Name', 'Ready', 'Status', 'Restarts', 'Node', 'Age'], (p) => {
        const cs = (p.status || {}).containerStatuses || [];
        const href = '#/clusters/' + encodeURIComponent(cluster) + '/pods/' + encodeURIComponent(p.metadata.namespace) + '/' + encodeURIComponent(p.metadata.name);
        return h('tr', { 'data-pod': p.metadata.namespace + '/' + p.metadata.name }, h('td', null, p.metadata.namespace),
          h('td', null, h('a', { href }, p.metadata.name)),
          h('td', null, cs.filter((c) => c.ready).length + '/' + ((p.spec || {}).containers || []).length),
          h('td', null, (p.status || {}).phase || ''), h('td', { class: 'num' }, String(cs.reduce((n, c) => n + (c.restartCount || 0), 0))),
          h('td', null, (p.spec || {}).nodeName || ''), h('td', null, age(p.metadata.creationTimestamp)));
      }, 'No pods.');
    } catch (e) {
      if (current(gen)) list.replaceChildren(errorBox(e));
    }
  };
  into.append(h('form', { class: 'row', onsubmit: (ev) => { ev.preventDefault(); load(); } },
    h('label', { for: 'pod-namespace' }, 'Namespace'), ns, h('button', { type: 'submit', class: 'plain' }, 'Show')), list);
  await load();
}

async function tabEvents(gen, cluster, into) {
  await paged(gen, cluster, '/api/v1/events', into, ['Last seen', 'Type', 'Reason', 'Object', 'Message'], (e) => h('tr', null,
    h('td', null, age(e.lastTimestamp || e.eventTime || e.metadata.creationTimestamp)),
    h('td', null, badge(e.type || '', e.type === 'Warning' ? 'warn' : '')), h('td', null, e.reason || ''),
    h('td', null, (e.involvedObject || {}).kind + '/' + (e.involvedObject || {}).name), h('td', null, e.message || '')), 'No events.');
}

async function tabMachines(gen, cluster, into, c) {
  const list = await get('/v1/clusters/' + encodeURIComponent(cluster) + '/machines');
  if (!current(gen)) return;
  const version = input('upgrade-version', { required: true, placeholder: 'v1.37.2', value: c.kubernetesVersion || '' });
  into.append(h('p', null, 'Kubernetes ' + (c.kubernetesVersion || '') + (c.upgrade ? ' · ' + c.upgrade : '')),
    formCard('upgrade', 'Upgrade', [['Kubernetes version (control planes one at a time, then workers, each drained first)', version]], 'Upgrade',
      () => call('PUT', '/v1/clusters/' + encodeURIComponent(cluster) + '/kubernetes-version', { body: { kubernetesVersion: version.value.trim() } })),
    h('h2', null, 'Machines'));
  into.append(table(['Name', 'Hostname', 'Address', 'Roles', 'Plan', 'Last contact'], (list.items || []).map((m) => h('tr', null,
    h('td', null, m.name), h('td', null, m.hostname), h('td', null, m.address), h('td', null, (m.roles || []).join(', ')),
    h('td', null, m.planState || '', m.failedInstruction ? h('div', { class: 'muted' }, m.failedInstruction) : null),
    h('td', null, m.lastContact ? age(m.lastContact) + ' ago' : ''))), 'No machines.'));
}

async function tabSnapshots(gen, cluster, into) {
  const base = '/v1/clusters/' + encodeURIComponent(cluster) + '/etcd/';
  const list = await get(base + 'snapshots');
  if (!current(gen)) return;
  into.append(h('div', { class: 'row' }, action('Take a snapshot now', 'plain', () => call('POST', base + 'snapshots'))));
  const restore = (s) => s.phase === 'Succeeded'
    ? action('Restore', 'danger', () => call('POST', base + 'restores', { body: { snapshot: s.name } }), true) : null;
  into.append(table(['Name', 'Phase', 'Taken', 'Size', 'Version', 'Where', ''], (list.items || []).map((s) => h('tr', null,
    h('td', null, s.name), h('td', null, s.phase, s.message ? h('div', { class: 'muted' }, s.message) : null),
    h('td', null, s.takenAt ? age(s.takenAt) + ' ago' : ''), h('td', { class: 'num' }, s.size ? String(s.size) : ''),
    h('td', null, s.kubernetesVersion || ''), h('td', null, [s.location, s.s3Location].filter(Boolean).join(', ')), h('td', null, restore(s)))), 'No snapshots.'));
}

async function pageYAML(gen, cluster, path) {
  if (!/^\/(api|apis)\//.test(path) || path.split('/').some((seg) => seg === '..' || seg === '.')) {
    throw new HttpError(400, 'Not a Kubernetes API path: ' + path);
  }
  show(h('p', null, h('a', { href: '#/clusters/' + encodeURIComponent(cluster) }, '← ' + cluster)), h('h1', null, path));
  const text = await get(proxy(cluster, path), { accept: 'application/yaml', raw: true });
  if (current(gen)) view().append(h('pre', { id: 'yaml' }, text));
}

// ---- pods: logs and exec -----------------------------------------------

async function pagePod(gen, cluster, ns, name) {
  const path = '/api/v1/namespaces/' + encodeURIComponent(ns) + '/pods/' + encodeURIComponent(name);
  const pod = await get(proxy(cluster, path));
  if (!current(gen)) return;
  const containers = ((pod.spec || {}).containers || []).map((c) => c.name);
  const pick = h('select', { class: 'inline', id: 'container' }, containers.map((c) => h('option', { value: c }, c)));
  const logs = h('pre', { id: 'logs' }, 'Loading…');
  const logErr = h('div');
  const loadLogs = async () => {
    try {
      const text = await get(proxy(cluster, path + '/log?tailLines=1000&limitBytes=2000000&container=' + encodeURIComponent(pick.value)), { raw: true, accept: '*/*' });
      if (!current(gen)) return;
      logs.textContent = text || '(no output)';
      logErr.replaceChildren();
    } catch (e) {
      if (current(gen)) logErr.replaceChildren(errorBox(e));
    }
  };
  pick.addEventListener('change', loadLogs);
  const s = pod.status || {};
  show(h('p', null, h('a', { href: '#/clusters/' + encodeURIComponent(cluster) + '/pods' }, '← pods of ' + cluster)),
    h('div', { class: 'row' }, h('h1', null, ns + '/' + name), badge(s.phase || 'Unknown', s.phase === 'Running' ? 'ok' : 'warn'), yamlLink(cluster, path)),
    h('dl', { class: 'kv' }, h('dt', null, 'Node'), h('dd', null, (pod.spec || {}).nodeName || ''), h('dt', null, 'Pod IP'), h('dd', null, s.podIP || ''),
      h('dt', null, 'Containers'), h('dd', null, containers.join(', ')), h('dt', null, 'Created'), h('dd', null, age(pod.metadata.creationTimestamp) + ' ago')),
    h('h2', null, 'Logs'), h('div', { class: 'row' }, h('label', { for: 'container' }, 'Container'), pick,
      h('button', { type: 'button', class: 'plain', onclick: loadLogs }, 'Refresh')), logErr, logs,
    h('h2', null, 'Exec'), execPanel(cluster, path, pick));
  await loadLogs();
}

// execPanel runs one command in the pod per submit, over the proxy's
// exec WebSocket (the Kubernetes v5 channel protocol; the browser sends
// the session cookie and its Origin, which the server checks).
function execPanel(cluster, podPath, pick) {
  const out = h('pre', { id: 'exec-output', class: 'term' });
  const cmd = h('input', { id: 'exec-command', class: 'term-in', placeholder: 'a command, e.g. ls -l', autocomplete: 'off' });
  const form = h('form', { class: 'row', onsubmit: (ev) => {
    ev.preventDefault();
    const words = cmd.value.trim().split(/\s+/).filter(Boolean);
    if (!words.length) return;
    const q = new URLSearchParams({ container: pick.value, stdout: 'true', stderr: 'true' });
    for (const w of words) q.append('command', w);
    out.append('$ ' + words.join(' ') + '\n');
    const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + proxy(cluster, podPath + '/exec?' + q), ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
    ws.binaryType = 'arraybuffer';
    state.sockets.push(ws);
    const dec = new TextDecoder();
    ws.onmessage = (m) => {
      const b = new Uint8Array(m.data);
      if (!b.length) return;
      const text = dec.decode(b.subarray(1));
      if (b[0] === 3) {
        try {
          const st = JSON.parse(text);
          if (st.status !== 'Success') out.append('error: ' + (st.message || text) + '\n');
        } catch (_) { out.append(text + '\n'); }
      } else if (b[0] === 1 || b[0] === 2) {
        out.append(text);
      }
      out.scrollTop = out.scrollHeight;
    };
    ws.onerror = () => out.append('error: the exec connection failed (no right to exec in this pod, or the cluster is not connected)\n');
    cmd.value = '';
  } }, cmd, h('button', { type: 'submit', id: 'exec-run' }, 'Run'));
  return h('div', null, form, out);
}

// ---- the kubectl terminal -------------------------------------------------

async function tabTerminal(gen, cluster, into) {
  const out = h('pre', { id: 'terminal-output', class: 'term' });
  const line = h('input', { id: 'terminal-input', class: 'term-in', placeholder: 'get pods -A', autocomplete: 'off', spellcheck: 'false' });
  const status = h('span', { class: 'muted' }, 'connecting…');
  const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/v1/clusters/' + encodeURIComponent(cluster) + '/terminal');
  state.sockets.push(ws);
  ws.binaryType = 'arraybuffer';
  const dec = new TextDecoder();
  const stop = h('button', { type: 'button', class: 'danger', id: 'terminal-stop', disabled: true, onclick: () => ws.send('\x03') }, 'Stop');
  ws.onopen = () => { status.textContent = 'kubectl as ' + who(state.user) + ' on ' + cluster; };
  ws.onmessage = (m) => {
    if (typeof m.data === 'string') { // "exit N": the command ended
      out.append(dec.decode());
      if (!out.textContent.endsWith('\n')) out.append('\n');
      if (m.data !== 'exit 0') out.append('(' + m.data + ')\n');
      stop.disabled = true;
    } else {
      out.append(dec.decode(new Uint8Array(m.data), { stream: true }));
    }
    out.scrollTop = out.scrollHeight;
  };
  ws.onclose = (ev) => { if (current(gen)) status.textContent = 'closed' + (ev.reason ? ': ' + ev.reason : ''); };
  const history = [];
  let at = 0;
  line.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowUp' && at > 0) { line.value = history[--at]; ev.preventDefault(); }
    if (ev.key === 'ArrowDown' && at < history.length) { at++; line.value = history[at] || ''; ev.preventDefault(); }
  });
  into.append(h('p', { class: 'muted' }, 'Type kubectl arguments (without "kubectl"). Commands run as you, through Herd, one at a time.'),
    h('form', { class: 'row', onsubmit: (ev) => {
      ev.preventDefault();
      const text = line.value.trim();
      if (!text || ws.readyState !== WebSocket.OPEN) return;
      history.push(text);
      at = history.length;
      out.append('$ kubectl ' + text + '\n');
      ws.send(text);
      stop.disabled = false;
      line.value = '';
    } }, h('span', { class: 'term-in' }, 'kubectl'), line, h('button', { type: 'submit', id: 'terminal-run' }, 'Run'), stop, status), out);
  line.focus();
}

// ---- import ------------------------------------------------------------

async function pageImport(gen) {
  const name = h('input', { id: 'import-name', required: true, pattern: '[a-z0-9]([-a-z0-9]*[a-z0-9])?', maxlength: 63, placeholder: 'prod-eu-1' });
  const display = h('input', { id: 'import-display-name', maxlength: 256 });
  const result = h('div', { id: 'import-result' });
  const submit = h('button', { type: 'submit', id: 'import-submit' }, 'Import');
  show(h('h1', null, 'Import a cluster'),
    h('form', { class: 'card', onsubmit: async (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      result.replaceChildren();
      try {
        const r = await call('POST', '/v1/clusters', { body: { name: name.value.trim(), displayName: display.value.trim() || undefined } });
        if (current(gen)) showImport(gen, r, result);
      } catch (e) {
        result.replaceChildren(errorBox(e));
      } finally {
        submit.disabled = false;
      }
    } }, h('label', { for: 'import-name' }, 'Name (lower case letters, digits and -)'), name,
    h('label', { for: 'import-display-name' }, 'Display name (optional)'), display, h('div', { class: 'row' }, submit)),
    result);
}

function showImport(gen, r, into) {
  const cmd = h('pre', { id: 'import-command' }, r.import.command);
  const copied = h('span', { class: 'muted' });
  const st = h('div', { id: 'import-state' }, badge('Waiting for the agent', 'warn'));
  into.replaceChildren(h('div', { class: 'card' },
    h('p', null, 'Run this with a kubeconfig of the cluster to import (it holds a registration token, shown once; it expires ' + new Date(r.import.expiresAt).toLocaleString() + '):'),
    cmd, h('div', { class: 'row' }, h('button', { type: 'button', class: 'plain', id: 'copy-import', onclick: async () => {
      try { await navigator.clipboard.writeText(r.import.command); copied.textContent = 'Copied.'; } catch (_) { copied.textContent = 'Select the command and copy it.'; }
    } }, 'Copy'), copied), st,
    h('p', null, h('a', { href: '#/clusters/' + encodeURIComponent(r.cluster.name) }, 'Open ' + r.cluster.name))));
  every(2000, async () => {
    try {
      const c = await get('/v1/clusters/' + encodeURIComponent(r.cluster.name));
      if (!current(gen)) return;
      st.replaceChildren();
      append(st, [c.connected === 'True' ? badge('Connected', 'ok') : badge('Waiting for the agent', 'warn'), ' ', condition(c.ready, 'Ready'),
        c.message ? h('span', { class: 'muted' }, ' ' + c.message) : null]);
    } catch (e) {
      if (current(gen)) st.replaceChildren(errorBox(e));
    }
  });
}

// ---- users, roles, projects, members, tokens ---------------------------------

// formCard is a form that runs submit and then shows the page again, or
// shows why not. fields: [label, input] pairs.
function formCard(id, title, fields, label, submit) {
  const err = h('div');
  const btn = h('button', { type: 'submit', id: id + '-submit' }, label);
  return h('form', { class: 'card', id, method: 'post', onsubmit: async (ev) => {
    ev.preventDefault();
    btn.disabled = true;
    err.replaceChildren();
    try {
      await submit();
      route();
    } catch (e) {
      err.replaceChildren(errorBox(e));
    } finally {
      btn.disabled = false;
    }
  } }, h('h2', null, title), fields.map(([l, input]) => [h('label', { for: input.id }, l), input]), h('div', { class: 'row' }, btn), err);
}

// action is a button that runs fn and then shows the page again; with
// confirm, the first click only asks "Sure?".
function action(label, cls, fn, confirm) {
  const b = h('button', { type: 'button', class: cls });
  b.textContent = label;
  let armed = !confirm;
  b.addEventListener('click', async () => {
    if (!armed) { armed = true; b.textContent = 'Sure? ' + label; return; }
    b.disabled = true;
    try { await fn(); route(); } catch (e) { b.replaceWith(errorBox(e)); }
  });
  return b;
}

function input(id, props) { return h('input', Object.assign({ id }, props || {})); }

function select(id, options) {
  return h('select', { id }, options.map(([value, text]) => h('option', { value }, text)));
}

const body = (el) => el.value.trim() || undefined;

async function pageUsers(gen) {
  const list = await get('/v1/users');
  if (!current(gen)) return;
  const username = input('new-username', { required: true, maxlength: 64 });
  const display = input('new-display-name', { maxlength: 256 });
  const pw = input('new-password', { type: 'password', required: true, autocomplete: 'new-password' });
  show(h('h1', null, 'Users'),
    table(['Username', 'Display name', 'Enabled', 'Global roles', 'Groups', 'Created', ''], (list.items || []).map((u) => h('tr', { 'data-user': u.username },
      h('td', null, u.username), h('td', { class: 'display-name' }, u.displayName || ''), h('td', null, u.enabled ? badge('Enabled', 'ok') : badge('Disabled', 'bad')),
      h('td', null, (u.globalRoles || []).join(', ')), h('td', null, (u.groups || []).join(', ')), h('td', null, age(u.createdAt)),
      h('td', null, u.username === state.user.username ? null
        : action(u.enabled ? 'Disable' : 'Enable', 'plain', () => call('PATCH', '/v1/users/' + encodeURIComponent(u.username), { body: { enabled: !u.enabled } }), u.enabled))))),
    formCard('new-user', 'New local user', [['Username', username], ['Display name', display], ['Password', pw]], 'Create',
      () => call('POST', '/v1/users', { body: { username: username.value.trim(), displayName: body(display), password: pw.value } })));
}

async function pageRoles(gen) {
  const list = await get('/v1/roles');
  if (!current(gen)) return;
  show(h('h1', null, 'Roles'), h('p', { class: 'muted' }, 'Global roles apply to Herd itself; cluster and project roles are role templates that members get in a cluster or a project.'),
    table(['Name', 'Display name', 'Context', 'Built in', 'Inherits', 'Rules'], (list.items || []).map((r) => h('tr', { 'data-role': r.name },
      h('td', null, r.name), h('td', null, r.displayName || ''), h('td', null, r.context), h('td', null, r.builtin ? 'yes' : ''),
      h('td', null, (r.inherits || []).join(', ')), h('td', { class: 'num' }, String((r.effectiveRules || r.rules || []).length))))));
}

async function pageProjects(gen) {
  const [list, clusters] = await Promise.all([get('/v1/projects'), get('/v1/clusters')]);
  if (!current(gen)) return;
  const cluster = select('project-cluster', (clusters.items || []).map((c) => [c.name, c.name]));
  const name = input('project-name', { required: true, maxlength: 63 });
  const display = input('project-display-name', { maxlength: 256 });
  show(h('h1', null, 'Projects'),
    table(['Cluster', 'Name', 'Display name', 'Namespaces', 'Created', ''], (list.items || []).map((p) => {
      const ns = h('input', { class: 'inline', placeholder: 'namespace', 'aria-label': 'namespace to add to ' + p.name });
      return h('tr', { 'data-project': p.name },
        h('td', null, p.clusterName), h('td', null, p.name), h('td', null, p.displayName || ''), h('td', null, (p.namespaces || []).join(', ')),
        h('td', null, age(p.createdAt)),
        h('td', null, ns, ' ', action('Add namespace', 'plain', () => call('POST', '/v1/projects/' + encodeURIComponent(p.name) + '/namespaces',
          { body: { namespace: ns.value.trim(), create: true } })), ' ',
        action('Delete', 'danger', () => call('DELETE', '/v1/projects/' + encodeURIComponent(p.name)), true)));
    }), 'No projects.'),
    formCard('new-project', 'New project', [['Cluster', cluster], ['Name', name], ['Display name', display]], 'Create',
      () => call('POST', '/v1/projects', { body: { clusterName: cluster.value, name: name.value.trim(), displayName: body(display) } })));
}

// pageMembers shows the members of one cluster or project at a time
// (?scope=cluster:NAME or project:NAME in the fragment), with a form to
// add one there.
async function pageMembers(gen, scopeArg) {
  const [clusters, projects, roles] = await Promise.all([get('/v1/clusters'), get('/v1/projects'), get('/v1/roles').catch(() => ({ items: [] }))]);
  if (!current(gen)) return;
  const scopes = (clusters.items || []).map((c) => ['cluster:' + c.name, 'cluster ' + c.name])
    .concat((projects.items || []).map((p) => ['project:' + p.name, 'project ' + p.name + ' (cluster ' + p.clusterName + ')']));
  if (!scopes.length) { show(h('h1', null, 'Members'), h('p', { class: 'muted' }, 'No cluster or project you may see.')); return; }
  const chosen = scopes.some(([v]) => v === scopeArg) ? scopeArg : scopes[0][0];
  const scope = select('member-scope', scopes);
  scope.value = chosen;
  scope.addEventListener('change', () => { location.hash = '#/members/' + encodeURIComponent(scope.value); });
  const [kind, name] = chosen.split(/:(.*)/s);
  const list = await get('/v1/members?' + new URLSearchParams({ [kind]: name }));
  if (!current(gen)) return;
  const role = select('member-role', (roles.items || []).filter((r) => r.context === kind).map((r) => [r.name, r.displayName || r.name]));
  const who = input('member-who', { required: true, placeholder: 'alice, or a group principal such as oidc_group://…/devs' });
  show(h('h1', null, 'Members'), h('div', { class: 'row' }, h('label', { for: 'member-scope' }, 'Of'), scope),
    table(['Role', 'User or group', 'State', ''], (list.items || []).map((m) => h('tr', { 'data-member': m.name },
      h('td', null, m.roleTemplate), h('td', null, m.username || m.userName || m.group || ''),
      h('td', null, m.ready ? condition(m.ready, 'Ready') : '', m.message ? h('div', { class: 'muted' }, m.message) : null),
      h('td', null, action('Remove', 'danger', () => call('DELETE', '/v1/members/' + encodeURIComponent(m.name)), true)))), 'No members.'),
    formCard('new-member', 'Add a member to this ' + kind, [['Role', role], ['User (username) or group (principal)', who]], 'Add', () => {
      const w = who.value.trim();
      const req = { roleTemplate: role.value, [kind === 'cluster' ? 'clusterName' : 'projectName']: name };
      if (w.includes('://')) req.group = w; else req.username = w;
      return call('POST', '/v1/members', { body: req });
    }));
}

async function pageTokens(gen) {
  const [tokens, clusters] = await Promise.all([get('/v1/tokens'), get('/v1/clusters')]);
  if (!current(gen)) return;
  const err = h('div');
  show(h('h1', null, 'Your tokens'), err,
    table(['Name', 'Kind', 'Cluster', 'Description', 'Expires', 'Last used', ''], (tokens.items || []).map((t) => h('tr', { 'data-token': t.name },
      h('td', null, t.name, t.current ? [' ', badge('this session', 'ok')] : null), h('td', null, t.kind), h('td', null, t.clusterName || ''),
      h('td', null, t.description || ''), h('td', null, t.expired ? badge('Expired', 'bad') : new Date(t.expiresAt).toLocaleString()),
      h('td', null, t.lastUsedAt ? age(t.lastUsedAt) + ' ago' : ''),
      h('td', null, t.current ? null : h('button', { type: 'button', class: 'danger', onclick: async () => {
        try { await call('DELETE', '/v1/tokens/' + encodeURIComponent(t.name)); route(); } catch (e) { err.replaceChildren(errorBox(e)); }
      } }, 'Revoke'))))),
    h('h2', null, 'Kubeconfig'),
    h('p', null, 'A kubeconfig holds a new token for one cluster, valid until you revoke it here.'),
    h('div', { class: 'row' }, (clusters.items || []).map((c) => h('button', { type: 'button', class: 'plain', onclick: () => downloadKubeconfig(c.name) }, c.name))));
}

// ---- bundles -------------------------------------------------------------------

function bundleState(state) {
  return badge(state, state === 'Ready' ? 'ok' : (state === 'Error' || state === 'Drifted' || state === 'Offline') ? 'bad' : 'warn');
}

async function pageBundles(gen) {
  const list = await get('/v1/bundles');
  if (!current(gen)) return;
  show(h('h1', null, 'Bundles'),
    h('p', { class: 'muted' }, 'Manifests and Helm charts applied to every cluster a bundle selects, with its creator\'s rights there. Apply them with ', h('code', null, 'herdctl bundles apply -f FILE'), '.'),
    table(['Name', 'Ready', 'Revision', 'Source', 'Creator', 'Message'], (list.items || []).map((b) => h('tr', { 'data-bundle': b.name },
      h('td', null, h('a', { href: '#/bundles/' + encodeURIComponent(b.name) }, b.name)),
      h('td', null, badge(b.status.summary || '0/0', b.status.desired > 0 && b.status.readyClusters === b.status.desired ? 'ok' : 'warn'), b.status.paused ? [' ', badge('paused', 'bad')] : null),
      h('td', null, h('code', null, b.status.revision || '')),
      h('td', null, b.spec.git ? b.spec.git.repo + (b.spec.git.path ? ' ' + b.spec.git.path : '') : 'inline manifests'),
      h('td', null, b.creatorUsername || b.creator), h('td', null, b.status.message || ''))), 'No bundles.'));
}

async function pageBundle(gen, name) {
  const path = '/v1/bundles/' + encodeURIComponent(name);
  const b = await get(path);
  if (!current(gen)) return;
  const err = h('div');
  const gone = async (fn) => { try { await fn(); route(); } catch (e) { err.replaceChildren(errorBox(e)); } };
  show(h('p', null, h('a', { href: '#/bundles' }, '← bundles')),
    h('div', { class: 'row' }, h('h1', null, b.name), badge(b.status.summary || '0/0', b.status.readyClusters === b.status.desired && b.status.desired > 0 ? 'ok' : 'warn'),
      b.spec.git ? action('Refresh from Git', 'plain', () => gone(() => call('POST', path + '/refresh'))) : null,
      action('Delete', 'danger', async () => { await call('DELETE', path); location.hash = '#/bundles'; }, true)),
    err,
    h('p', null, 'Revision ', h('code', null, b.status.revision || '-'), ' by ', b.creatorUsername || b.creator, b.status.paused ? [' ', badge('rollout paused', 'bad')] : null),
    b.status.message ? h('p', { class: 'muted' }, b.status.message) : null,
    table(['Cluster', 'State', 'Revision', 'Message'], (b.status.clusters || []).map((c) => h('tr', { 'data-cluster': c.cluster },
      h('td', null, h('a', { href: '#/clusters/' + encodeURIComponent(c.cluster) }, c.cluster)), h('td', null, bundleState(c.state)),
      h('td', null, h('code', null, c.revision || '')), h('td', null, c.message || ''))), 'The bundle targets no cluster.'));
}

// ---- recorded exec sessions ---------------------------------------------------

async function pageSessions(gen) {
  const list = await get('/v1/sessions');
  if (!current(gen)) return;
  show(h('h1', null, 'Recorded sessions'),
    h('p', { class: 'muted' }, 'Every kubectl exec and attach through Herd with a terminal or input is recorded. You see your own sessions; administrators see everyone\'s.'),
    table(['Started', 'User', 'Cluster', 'Pod', 'Command', 'State', 'Size'], (list.items || []).map((e) => h('tr', { 'data-session': e.name },
      h('td', null, h('a', { href: '#/sessions/' + encodeURIComponent(e.name) }, new Date(e.startedAt).toLocaleString())),
      h('td', null, (e.username || e.user) + (e.impersonatedUser ? ' as ' + e.impersonatedUser : '')), h('td', null, e.cluster),
      h('td', null, e.namespace + '/' + e.pod + (e.container ? '/' + e.container : '')),
      h('td', null, h('code', null, e.kind === 'attach' ? '(attach)' : (e.command || []).join(' '))),
      h('td', null, badge(e.phase, e.phase === 'Ended' ? 'ok' : ''), e.truncated ? [' ', badge('truncated', 'bad')] : null),
      h('td', null, String(e.bytes))))), 'No recorded sessions.');
}

// castEvents parses an asciicast v2 recording.
function castEvents(text) {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = JSON.parse(lines.shift() || '{}');
  return { header, events: lines.map((l) => JSON.parse(l)).filter((e) => Array.isArray(e) && e.length === 3) };
}

// screenText keeps a recording's text: escape sequences go, line ends stay.
function screenText(s) {
  return s.replace(/\x1b\[[0-?]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[PX^_][\s\S]*?\x1b\\|\x1b[ -~]/g, '')
    .replace(/\r\n/g, '\n').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

async function pageSession(gen, name) {
  const path = '/v1/sessions/' + encodeURIComponent(name);
  const [s, text] = await Promise.all([get(path), get(path + '/recording', { raw: true, accept: 'application/x-asciicast' })]);
  if (!current(gen)) return;
  const { header, events } = castEvents(text);
  const total = events.length ? events[events.length - 1][0] : 0;
  const screen = h('pre', { id: 'player-screen', class: 'term' });
  const clock = h('span', { id: 'player-clock', class: 'muted' });
  const marks = h('ul', { id: 'player-markers' });
  const speed = select('player-speed', [['1', '1×'], ['2', '2×'], ['4', '4×'], ['16', '16×']]);
  let at = 0, t = 0, playing = false, timer = null;
  const tick = () => { clock.textContent = t.toFixed(1) + ' s / ' + total.toFixed(1) + ' s'; };
  const step = () => {
    timer = null;
    if (!current(gen) || !playing) return;
    if (at >= events.length) { playing = false; play.textContent = 'Replay'; return; }
    const [time, code, data] = events[at++];
    t = time;
    if (code === 'o') { screen.append(screenText(data)); screen.scrollTop = screen.scrollHeight; }
    if (code === 'm') marks.append(h('li', null, time.toFixed(1) + ' s: ' + data));
    tick();
    const next = at < events.length ? Math.min((events[at][0] - time) / Number(speed.value), 2) : 0;
    timer = setTimeout(step, Math.max(0, next * 1000));
  };
  const play = h('button', { type: 'button', id: 'player-play', onclick: () => {
    if (playing) { playing = false; play.textContent = 'Play'; if (timer) clearTimeout(timer); return; }
    if (at >= events.length) { at = 0; t = 0; screen.replaceChildren(); marks.replaceChildren(); }
    playing = true; play.textContent = 'Pause'; step();
  } }, 'Play');
  tick();
  show(h('h1', null, 'Session ', h('code', null, s.name)),
    h('p', null, (s.username || s.user) + ' on ', h('a', { href: '#/clusters/' + encodeURIComponent(s.cluster) }, s.cluster), ': ',
      h('code', null, s.namespace + '/' + s.pod + (s.container ? '/' + s.container : '')), ' ',
      h('code', null, s.kind === 'attach' ? '(attach)' : (s.command || []).join(' ')), ', ', new Date(s.startedAt).toLocaleString(),
      ', ' + (header.width || 80) + '×' + (header.height || 24), s.truncated ? [' ', badge('truncated', 'bad')] : null,
      s.phase !== 'Ended' ? [' ', badge('still running', '')] : null),
    h('div', { class: 'row' }, play, h('label', null, 'Speed ', speed), clock), screen, marks);
}

async function downloadKubeconfig(cluster) {
  try {
    const text = await get('/v1/clusters/' + encodeURIComponent(cluster) + '/kubeconfig', { raw: true, accept: 'application/yaml' });
    const url = URL.createObjectURL(new Blob([text], { type: 'application/yaml' }));
    const a = h('a', { href: url, download: cluster + '.kubeconfig' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    flash(errorText(e));
  }
}

// ---- start ---------------------------------------------------------------

document.getElementById('logout').addEventListener('click', logout);
window.addEventListener('hashchange', () => {
  if (!state.keepFlash) flash('');
  state.keepFlash = false;
  route();
});
loadSession().then(route);
