// The live feed: a websocket that replays from a cursor the rows matching the view's filters, then pushes
// only those; it reconnects with backoff, and falls back to polling the JSON API when a socket cannot be
// opened at all (e.g. a proxy that strips upgrades).

const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];
const FAILED_OPENS_BEFORE_POLLING = 3;
const POLL_MS = 2000;
const RETRY_SOCKET_WHILE_POLLING_MS = 30000;
const SHOW_RECONNECTING_AFTER_MS = 800; // a quick reconnect should not flash the indicator

export class LiveFeed {
  /**
   * handlers: {hello(data), event(summary), update(summary), reset(counts), pruned({oldest_id, counts}),
   *            state(name), poll(since) -> Promise}
   * cursor(): the last row id the page has seen, asked on every (re)connect.
   * query(): the view's filters and columns, as URL parameters for /ws.
   */
  constructor({handlers, cursor, query}) {
    this.handlers = handlers;
    this.cursor = cursor;
    this.query = query;
    this.suspended = true; // until start()
    this.socket = null;
    this.failedOpens = 0;
    this.attempt = 0;
    this.state = null;
    this.pollTimer = null;
    this.stateTimer = null;
    this.retryTimer = null;
  }

  /** Connect (again) from the cursor, with the view's current filters. */
  start() {
    this.suspended = false;
    if (!this.pollTimer) this.connect();
  }

  /** Close the socket until start(): the view is being read again and will say where to go on from. */
  suspend() {
    this.suspended = true;
    this.closeSocket();
  }

  closeSocket() {
    const old = this.socket;
    this.socket = null; // its close is on purpose: no reconnect
    if (old) old.close();
  }

  setState(name) {
    if (name === 'reconnecting' && this.state === 'live') {
      // Only show "reconnecting" if the socket does not come straight back.
      if (!this.stateTimer) {
        this.stateTimer = setTimeout(() => this.announce('reconnecting'), SHOW_RECONNECTING_AFTER_MS);
      }
      return;
    }
    this.announce(name);
  }

  announce(name) {
    clearTimeout(this.stateTimer);
    this.stateTimer = null;
    if (this.state === name) return;
    this.state = name;
    this.handlers.state(name);
  }

  connect() {
    clearTimeout(this.retryTimer); // this is the reconnect a pending retry would have made
    if (this.suspended) return;
    this.closeSocket();
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const params = new URLSearchParams(this.query());
    params.set('since', String(this.cursor()));
    const url = `${scheme}//${location.host}/ws?${params}`;
    let opened = false;
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (err) {
      this.onSocketGone(false);
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      opened = true;
      this.failedOpens = 0;
      this.attempt = 0;
      this.stopPolling();
      this.setState('live');
    };
    socket.onmessage = (message) => {
      if (this.socket === socket) this.dispatch(message.data);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return; // replaced on purpose
      this.socket = null;
      this.onSocketGone(opened);
    };
  }

  dispatch(text) {
    let envelope;
    try {
      envelope = JSON.parse(text);
    } catch {
      return;
    }
    const {type, data} = envelope;
    if (type === 'hello') this.handlers.hello(data);
    else if (type === 'event') this.handlers.event(data);
    else if (type === 'update') this.handlers.update(data);
    else if (type === 'counts') this.handlers.counts(data);
    else if (type === 'reset') this.handlers.reset(data);
    else if (type === 'pruned') this.handlers.pruned(data);
    else if (type === 'resync') this.connect(); // we were too slow: replay from our cursor
  }

  onSocketGone(wasOpen) {
    if (this.suspended) return;
    if (!wasOpen) this.failedOpens += 1;
    if (this.failedOpens >= FAILED_OPENS_BEFORE_POLLING) {
      this.startPolling();
      return;
    }
    this.setState('reconnecting');
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), wasOpen ? Math.min(delay, 250) : delay);
  }

  /** Poll the API for rows after the cursor; try the socket again now and then. */
  startPolling() {
    if (this.pollTimer) return;
    let sinceSocketTry = 0;
    const tick = async () => {
      if (this.suspended) {
        if (this.pollTimer) this.pollTimer = setTimeout(tick, POLL_MS);
        return;
      }
      try {
        await this.handlers.poll(this.cursor());
        const cameBack = this.state === 'offline';
        this.announce('polling');
        // The server was down and is back: its socket most likely works again too.
        if (cameBack) sinceSocketTry = RETRY_SOCKET_WHILE_POLLING_MS;
      } catch {
        this.announce('offline');
      }
      sinceSocketTry += POLL_MS;
      if (sinceSocketTry >= RETRY_SOCKET_WHILE_POLLING_MS) {
        sinceSocketTry = 0;
        this.failedOpens = FAILED_OPENS_BEFORE_POLLING - 1; // one more failure puts us back here
        this.connect();
      }
      if (this.pollTimer) this.pollTimer = setTimeout(tick, POLL_MS);
    };
    this.pollTimer = setTimeout(tick, 0);
  }

  stopPolling() {
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  /** Close the socket as a network failure would (used by tests and by "resync"). */
  drop() {
    if (this.socket) this.socket.close();
  }
}
