/**
 * The live cluster view (/cluster): asks GET /api/cluster every second and
 * draws the replicas around the broker, with a dot travelling along an edge
 * whenever a replica's broadcast counters moved since the last answer.
 */
import type { ClusterView, ReplicaFigures } from '../shared/cluster';
import { byId, h } from './dom';

const POLL_MS = 1000;
const TOKEN_KEY = 'docker-chat.operator-token';
const SVG = 'http://www.w3.org/2000/svg';
const CENTRE = { x: 320, y: 225 };
const RADIUS = 145;
const PULSE_MS = 700;

const live = byId('cluster-live', HTMLElement);
const authSection = byId('cluster-auth', HTMLElement);
const authError = byId('cluster-auth-error', HTMLElement);
const tokenForm = byId('cluster-token-form', HTMLFormElement);
const tokenInput = byId('cluster-token', HTMLInputElement);
const viewSection = byId('cluster-view', HTMLElement);
const summary = byId('cluster-summary', HTMLElement);
const map = document.getElementById('cluster-map') as unknown as SVGSVGElement;
const tableHead = byId('cluster-table-head', HTMLTableRowElement);
const tableBody = byId('cluster-table-body', HTMLTableSectionElement);
const operatorNote = byId('cluster-operator-note', HTMLElement);
const errorBox = byId('cluster-error', HTMLElement);

let token = sessionStorage.getItem(TOKEN_KEY);
let previous = new Map<string, ReplicaFigures>();
let drawnIds = '';
let timer: number | undefined;
/** Polls started so far: a token typed in mid-request starts a new one, and only the newest schedules the next. */
let polls = 0;

tokenForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const value = tokenInput.value.trim();
  if (!value) return void (authError.textContent = 'Enter the operator token');
  token = value;
  sessionStorage.setItem(TOKEN_KEY, value);
  tokenInput.value = '';
  void poll();
});

byId('cluster-forget-token', HTMLButtonElement).addEventListener('click', () => {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  void poll();
});

/** Asks once a second, counted from the start of each request, so a slow answer never stretches the interval. */
async function poll(): Promise<void> {
  window.clearTimeout(timer);
  const own = ++polls;
  const started = performance.now();
  try {
    const response = await fetch('/api/cluster', {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      cache: 'no-store',
      credentials: 'same-origin',
    });
    if (response.status === 401) return showAuth(await errorMessage(response));
    if (!response.ok) throw new Error(await errorMessage(response));
    render((await response.json()) as ClusterView);
    setLive('live', 'Live');
    errorBox.textContent = '';
  } catch (error) {
    // The replica serving this page went away: the next request may reach another one.
    setLive('lost', 'Reconnecting…');
    errorBox.textContent = `No answer from the cluster (${error instanceof Error ? error.message : String(error)}); retrying`;
  }
  if (own !== polls) return;
  timer = window.setTimeout(() => void poll(), Math.max(0, started + POLL_MS - performance.now()));
}

async function errorMessage(response: Response): Promise<string> {
  const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
  return body?.error?.message ?? `HTTP ${response.status}`;
}

function showAuth(message: string) {
  viewSection.hidden = true;
  authSection.hidden = false;
  setLive('connecting', 'Not signed in');
  authError.textContent = token ? message : '';
  if (token) {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
  }
}

function setLive(state: string, text: string) {
  live.dataset.state = state;
  live.textContent = text;
}

function render(view: ClusterView) {
  authSection.hidden = true;
  viewSection.hidden = false;
  operatorNote.hidden = view.access !== 'operator';
  const { replicas } = view;
  const sum = (pick: (r: ReplicaFigures) => number) => replicas.reduce((total, r) => total + pick(r), 0);
  const brokers = [...new Set(replicas.map((r) => r.broker.kind))].join(', ');
  summary.textContent =
    `${plural(replicas.length, 'replica')} · ${plural(sum((r) => r.sockets), 'socket')} · ` +
    `${plural(sum((r) => r.people), 'person', 'people')} (per replica, summed) · broker: ${brokers}`;
  drawMap(view);
  drawTable(view);
  previous = new Map(replicas.map((r) => [r.id, r]));
}

function plural(n: number, one: string, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

// ---- the picture -------------------------------------------------------------------------

const positions = new Map<string, { x: number; y: number }>();

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

function drawMap(view: ClusterView) {
  const { replicas } = view;
  const ids = replicas.map((r) => r.id).join(',');
  if (ids !== drawnIds) layout(view, drawnIds.split(','));
  drawnIds = ids;
  for (const replica of replicas) {
    const node = map.querySelector<SVGGElement>(`g.replica[data-id="${CSS.escape(replica.id)}"]`);
    if (!node) continue;
    node.querySelector('.counts')!.textContent = `${plural(replica.sockets, 'socket')} · ${plural(replica.people, 'person', 'people')}`;
    const healthy = replica.broker.connected && replica.store.ready;
    node.classList.toggle('is-unhealthy', !healthy);
    map.querySelector(`line.edge[data-id="${CSS.escape(replica.id)}"]`)?.classList.toggle('link-down', !replica.broker.connected);
    animateTraffic(replica, replicas);
  }
}

function layout(view: ClusterView, before: string[]) {
  map.replaceChildren();
  positions.clear();
  const { replicas } = view;
  replicas.forEach((replica, index) => {
    const angle = (2 * Math.PI * index) / Math.max(replicas.length, 1) - Math.PI / 2;
    positions.set(replica.id, { x: CENTRE.x + RADIUS * Math.cos(angle), y: CENTRE.y + RADIUS * Math.sin(angle) });
  });
  for (const replica of replicas) {
    const at = positions.get(replica.id)!;
    map.append(svg('line', { class: 'edge', 'data-id': replica.id, x1: CENTRE.x, y1: CENTRE.y, x2: at.x, y2: at.y }));
  }
  const hub = svg('g', { class: 'hub' });
  hub.append(svg('circle', { cx: CENTRE.x, cy: CENTRE.y, r: 42 }));
  hub.append(svg('text', { x: CENTRE.x, y: CENTRE.y }, brokerName(replicas)));
  map.append(hub);
  for (const replica of replicas) {
    const at = positions.get(replica.id)!;
    const viewer = replica.id === view.servedBy;
    const node = svg('g', {
      class: `replica${viewer ? ' is-viewer' : ''}${before.includes(replica.id) ? '' : ' entering'}`,
      'data-id': replica.id,
      'data-instance': replica.instance,
    });
    // Labels on the far side from the broker, so no edge crosses them.
    const above = at.y < CENTRE.y - RADIUS / 3;
    const label = { x: at.x + ((at.x - CENTRE.x) / RADIUS) * 30, y: above ? at.y - 64 : at.y + 52 };
    node.append(svg('circle', { cx: at.x, cy: at.y, r: 34 }));
    node.append(svg('text', { class: 'name', x: label.x, y: label.y }, replica.instance));
    node.append(svg('text', { class: 'counts', x: label.x, y: label.y + 17 }, ''));
    if (viewer) node.append(svg('text', { class: 'you', x: at.x, y: at.y }, 'you'));
    map.append(node);
  }
}

function brokerName(replicas: ReplicaFigures[]): string {
  const kinds = [...new Set(replicas.map((r) => r.broker.kind))];
  return kinds.length === 1 ? (kinds[0] === 'none' ? 'in-process' : kinds[0]!) : 'broker';
}

/** A dot replica → broker when its sent counter moved, broker → replica when its received counter did. */
function animateTraffic(replica: ReplicaFigures, all: ReplicaFigures[]) {
  const before = previous.get(replica.id);
  if (!before || all.length < 2) return;
  const at = positions.get(replica.id);
  if (!at) return;
  if (replica.broadcasts.sent > before.broadcasts.sent) pulse(at, CENTRE, replica.instance, 'broker', 0);
  if (replica.broadcasts.received > before.broadcasts.received) pulse(CENTRE, at, 'broker', replica.instance, 0);
}

function pulse(from: { x: number; y: number }, to: { x: number; y: number }, fromName: string, toName: string, delay: number) {
  const dot = svg('circle', { class: 'pulse', cx: 0, cy: 0, r: 8, 'data-from': fromName, 'data-to': toName });
  // Hidden until it sets off, so a delayed dot does not sit on the broker's name.
  dot.style.opacity = '0';
  map.append(dot);
  const motion = dot.animate(
    [
      { transform: `translate(${from.x}px, ${from.y}px)`, opacity: 1 },
      { transform: `translate(${to.x}px, ${to.y}px)`, opacity: 1 },
    ],
    { duration: PULSE_MS, delay, easing: 'ease-in-out', fill: 'forwards' },
  );
  motion.onfinish = () => dot.remove();
  motion.oncancel = () => dot.remove();
}

// ---- the table ---------------------------------------------------------------------------

const COLUMNS: { title: string; cell: (r: ReplicaFigures) => string; state?: (r: ReplicaFigures) => boolean; operator?: boolean }[] = [
  { title: 'Replica', cell: (r) => r.instance },
  { title: 'Broker', cell: (r) => `${r.broker.kind} ${r.broker.connected ? 'up' : 'DOWN'}`, state: (r) => r.broker.connected },
  { title: 'Store', cell: (r) => `${r.store.kind} ${r.store.ready ? 'up' : 'DOWN'}`, state: (r) => r.store.ready },
  { title: 'Sockets', cell: (r) => String(r.sockets) },
  { title: 'People', cell: (r) => String(r.people) },
  { title: 'Rooms', cell: (r) => String(r.rooms) },
  { title: 'Sent/s', cell: (r) => r.broadcastRates.sentPerSecond.toFixed(1) },
  { title: 'Received/s', cell: (r) => r.broadcastRates.receivedPerSecond.toFixed(1) },
  { title: 'Loop delay', cell: (r) => `${r.eventLoopDelayMs.toFixed(1)} ms` },
  { title: 'Memory', cell: (r) => megabytes(r.memoryBytes) },
  { title: 'Uptime', cell: (r) => duration(r.uptimeSeconds) },
  { title: 'Version', cell: (r) => r.version },
  { title: 'Broker at', cell: (r) => r.operator?.brokerTarget ?? '', operator: true },
  { title: 'Node.js', cell: (r) => r.operator?.nodeVersion ?? '', operator: true },
  { title: 'PID', cell: (r) => String(r.operator?.pid ?? ''), operator: true },
  { title: 'Heap', cell: (r) => (r.operator ? megabytes(r.operator.heapUsedBytes) : ''), operator: true },
];

function drawTable(view: ClusterView) {
  const columns = COLUMNS.filter((c) => !c.operator || view.access === 'operator');
  if (tableHead.children.length !== columns.length) {
    tableHead.replaceChildren(...columns.map((c) => h('th', { text: c.title, attrs: { scope: 'col' } })));
  }
  tableBody.replaceChildren(
    ...view.replicas.map((replica) => {
      const row = h(
        'tr',
        {
          className: replica.id === view.servedBy ? 'is-viewer' : '',
          attrs: { 'data-instance': replica.instance, 'data-broadcasts-sent': String(replica.broadcasts.sent) },
        },
        columns.map((column, index) => {
          const state = column.state?.(replica);
          const text = index === 0 && replica.id === view.servedBy ? `${column.cell(replica)} (you)` : column.cell(replica);
          return h(index === 0 ? 'th' : 'td', {
            text,
            className: state === undefined ? '' : state ? 'state-ok' : 'state-bad',
            attrs: index === 0 ? { scope: 'row' } : {},
          });
        }),
      );
      return row;
    }),
  );
}

function megabytes(bytes: number) {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

function duration(seconds: number) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m ${String(s).padStart(2, '0')}s` : `${s}s`;
}

void poll();
