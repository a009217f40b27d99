/*
 * internal_events.js: GitLab-style internal events from the browser, with no dependencies and no build step.
 *
 *   <script src="http://127.0.0.1:9091/static/internal_events.js" data-environment="development"></script>
 *   InternalEvents.trackEvent('click_button', {label: 'save', property: 'top', value: 1, custom: 'x'});
 *
 * trackEvent is GitLab's name (app/assets/javascripts/tracking/internal_events.js); track_event is kept as an alias.
 * Each event is a Snowplow structured event (se_ca = category, se_ac = event) carrying what GitLab's frontend
 * attaches: the iglu:com.gitlab/gitlab_standard/jsonschema/1-1-8 context (source "gitlab-javascript",
 * google_analytics_id from the _ga cookie or "", custom properties in `extra`), the
 * iglu:com.gitlab/gitlab_service_ping/jsonschema/1-0-1 context {event_name, data_source: "redis_hll"} and a
 * web_page entity, POSTed as a tp2 batch to <collectorUrl>/com.snowplowanalytics.snowplow/tp2.
 *
 * Configure with InternalEvents.configure({collectorUrl, appId, namespace, environment, context: {...}}) or with
 * data-collector-url, data-app-id, data-namespace, data-environment and data-context (JSON) on the script tag.
 * The collector defaults to the origin this script was served from.
 *
 * Declarative tracking: a click anywhere inside [data-event-tracking="<event>"] sends <event> with
 * data-event-label, data-event-property, data-event-value (integer) and data-event-additional (JSON object, whose
 * keys win over the other three, as in GitLab);
 * [data-event-tracking-load="true"] elements send their event once when they appear in the page.
 */
(function (window, document) {
  'use strict';

  if (window.InternalEvents && window.InternalEvents.version) {
    return; // Loaded twice: keep the first instance so listeners are not doubled.
  }

  var VERSION = 'js-internal-events-0.1';
  var PAYLOAD_SCHEMA = 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4';
  var CONTEXTS_SCHEMA = 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0';
  var STANDARD_SCHEMA = 'iglu:com.gitlab/gitlab_standard/jsonschema/1-1-8';
  var SERVICE_PING_SCHEMA = 'iglu:com.gitlab/gitlab_service_ping/jsonschema/1-0-1';
  var GOOGLE_ANALYTICS_ID_COOKIE_NAME = '_ga';
  var WEB_PAGE_SCHEMA = 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0';
  var TP2_PATH = '/com.snowplowanalytics.snowplow/tp2';
  var EVENT_NAME = /^[a-z0-9_]+$/;
  var MAX_PROPERTY_LENGTH = 1000;
  var CLICK_SELECTOR = '[data-event-tracking]';
  var LOAD_SELECTOR = '[data-event-tracking-load="true"]';

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') {
      return window.crypto.randomUUID();
    }
    // randomUUID exists only in secure contexts (https, localhost); a LAN address needs this fallback.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join('');
    return hex.slice(0, 8) + '-' + hex.slice(8, 12) + '-' + hex.slice(12, 16) + '-' +
      hex.slice(16, 20) + '-' + hex.slice(20);
  }

  function scriptOrigin(script) {
    try {
      if (script && script.src) {
        return new URL(script.src, window.location.href).origin;
      }
    } catch (e) { /* fall through to the page's origin */ }
    return window.location.origin;
  }

  var script = document.currentScript;
  var config = {
    collectorUrl: scriptOrigin(script),
    appId: 'gitlab',
    namespace: 'gl',
    environment: 'development',
    context: {}
  };
  var pageViewId = uuid();
  var pending = [];
  var flushTimer = null;
  var fired = typeof WeakSet === 'function' ? new WeakSet() : null;

  function configure(options) {
    options = options || {};
    ['collectorUrl', 'appId', 'namespace', 'environment'].forEach(function (key) {
      if (options[key] !== undefined && options[key] !== null && options[key] !== '') {
        config[key] = String(options[key]);
      }
    });
    config.collectorUrl = config.collectorUrl.replace(/\/+$/, '');
    if (options.context) {
      config.context = Object.assign({}, config.context, options.context);
    }
    return Object.assign({}, config, {context: Object.assign({}, config.context)});
  }

  function configureFromScript(el) {
    if (!el || !el.dataset) {
      return;
    }
    var options = {
      collectorUrl: el.dataset.collectorUrl,
      appId: el.dataset.appId,
      namespace: el.dataset.namespace,
      environment: el.dataset.environment
    };
    if (el.dataset.context) {
      try {
        options.context = JSON.parse(el.dataset.context);
      } catch (e) {
        console.error('InternalEvents: data-context on the script tag is not valid JSON, ignoring it', e);
      }
    }
    configure(options);
  }

  function defaultCategory() {
    return (document.body && document.body.dataset.page) || window.location.pathname;
  }

  function splitProperties(additionalProperties) {
    var props = additionalProperties || {};
    if (typeof props !== 'object' || Array.isArray(props)) {
      throw new Error('InternalEvents: additionalProperties must be an object like {label: "x", value: 1}');
    }
    var base = {};
    var extra = {};
    Object.keys(props).forEach(function (key) {
      if (props[key] === undefined || props[key] === null) {
        return;
      }
      if (key === 'label' || key === 'property' || key === 'value') {
        base[key] = props[key];
      } else {
        extra[key] = props[key];
      }
    });
    if (base.label !== undefined && typeof base.label !== 'string') {
      throw new Error('InternalEvents: label must be a string, got ' + typeof base.label + ': pass String(label)');
    }
    if (base.property !== undefined && typeof base.property !== 'string') {
      throw new Error('InternalEvents: property must be a string, got ' + typeof base.property +
        ': pass String(property)');
    }
    if (base.value !== undefined && (typeof base.value !== 'number' || !isFinite(base.value))) {
      throw new Error('InternalEvents: value must be a number, got ' + typeof base.value + ': pass Number(value)');
    }
    if (base.property && base.property.length > MAX_PROPERTY_LENGTH) {
      base.property = base.property.slice(0, MAX_PROPERTY_LENGTH - 3) + '...';
    }
    return {base: base, extra: extra};
  }

  function cookie(name) {
    var found = document.cookie.split('; ').filter(function (pair) {
      return pair.slice(0, name.length + 1) === name + '=';
    })[0];
    return found === undefined ? undefined : decodeURIComponent(found.slice(name.length + 1));
  }

  function buildPayload(event, split, category) {
    // GitLab's getStandardContext: the page's context, then source, google_analytics_id and the merged extra.
    var gaCookie = cookie(GOOGLE_ANALYTICS_ID_COOKIE_NAME);
    var standard = Object.assign(
      {environment: config.environment, context_generated_at: new Date().toISOString()},
      config.context,
      {
        source: 'gitlab-javascript',
        google_analytics_id: gaCookie === undefined ? '' : gaCookie,
        extra: Object.assign({}, config.context.extra || {}, split.extra)
      }
    );
    var contexts = {
      schema: CONTEXTS_SCHEMA,
      data: [
        {schema: STANDARD_SCHEMA, data: standard},
        {schema: SERVICE_PING_SCHEMA, data: {event_name: event, data_source: 'redis_hll'}},
        {schema: WEB_PAGE_SCHEMA, data: {id: pageViewId}}
      ]
    };
    var payload = {
      e: 'se',
      se_ca: String(category),
      se_ac: event,
      eid: uuid(),
      dtm: String(Date.now()),
      tv: VERSION,
      tna: config.namespace,
      aid: config.appId,
      p: 'web',
      url: window.location.href,
      page: document.title,
      res: window.screen.width + 'x' + window.screen.height,
      lang: navigator.language,
      co: JSON.stringify(contexts)
    };
    // The Snowplow browser tracker leaves out empty strings; so do we.
    if (split.base.label !== undefined && split.base.label !== '') { payload.se_la = split.base.label; }
    if (split.base.property !== undefined && split.base.property !== '') { payload.se_pr = split.base.property; }
    if (split.base.value !== undefined) { payload.se_va = String(split.base.value); }
    if (document.referrer) { payload.refr = document.referrer; }
    try {
      payload.tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (e) { /* tz is optional */ }
    return payload;
  }

  function flush() {
    if (flushTimer !== null) {
      window.clearTimeout(flushTimer);
      flushTimer = null;
    }
    if (!pending.length) {
      return Promise.resolve(null);
    }
    var batch = pending;
    pending = [];
    var stm = String(Date.now());
    batch.forEach(function (payload) { payload.stm = stm; });
    return window.fetch(config.collectorUrl + TP2_PATH, {
      method: 'POST',
      credentials: 'include',
      // keepalive lets a click that navigates away still deliver its event.
      keepalive: true,
      headers: {'Content-Type': 'application/json; charset=UTF-8'},
      body: JSON.stringify({schema: PAYLOAD_SCHEMA, data: batch})
    }).then(function (response) {
      if (!response.ok) {
        console.error('InternalEvents: collector answered ' + response.status + ' for ' + batch.length + ' event(s)');
      }
      return response;
    }, function (error) {
      console.error('InternalEvents: could not send ' + batch.length + ' event(s) to ' + config.collectorUrl, error);
      return null;
    });
  }

  function trackEvent(event, additionalProperties, category) {
    if (typeof event !== 'string' || !EVENT_NAME.test(event)) {
      throw new Error('InternalEvents: event name ' + JSON.stringify(event) +
        ' is invalid: use lowercase letters, digits and underscores (^[a-z0-9_]+$)');
    }
    var split = splitProperties(additionalProperties);
    var payload = buildPayload(event, split, category || defaultCategory());
    pending.push(payload);
    // Events fired in the same tick (e.g. several load events) go out as one batch.
    if (flushTimer === null) {
      flushTimer = window.setTimeout(flush, 0);
    }
    return payload.eid;
  }

  // GitLab's createInternalEventPayload: label, property and value, then data-event-additional spread over them.
  function propertiesFromElement(el) {
    var props = {};
    var data = el.dataset;
    if (data.eventLabel !== undefined) { props.label = data.eventLabel; }
    if (data.eventProperty !== undefined) { props.property = data.eventProperty; }
    // GitLab's parsing: "0" or a non-number becomes undefined.
    var value = parseInt(data.eventValue, 10) || undefined;
    if (value !== undefined) { props.value = value; }
    if (data.eventAdditional) {
      try {
        var additional = JSON.parse(data.eventAdditional);
        if (additional && typeof additional === 'object' && !Array.isArray(additional)) {
          Object.assign(props, additional);
        } else {
          console.error('InternalEvents: data-event-additional must be a JSON object, ignoring it', el);
        }
      } catch (e) {
        console.error('InternalEvents: data-event-additional is not valid JSON, ignoring it', el, e);
      }
    }
    return props;
  }

  function trackElement(el) {
    var event = el.dataset.eventTracking;
    if (!event) {
      return null;
    }
    try {
      return trackEvent(event, propertiesFromElement(el));
    } catch (e) {
      console.error(e.message, el);
      return null;
    }
  }

  function onClick(domEvent) {
    var target = domEvent.target;
    if (target && target.nodeType !== 1) {
      target = target.parentElement;
    }
    var el = target && target.closest ? target.closest(CLICK_SELECTOR) : null;
    if (el) {
      trackElement(el);
    }
  }

  function fireLoadEvents(root) {
    var elements = [];
    if (root.nodeType === 1 && root.matches(LOAD_SELECTOR)) {
      elements.push(root);
    }
    if (root.querySelectorAll) {
      Array.prototype.push.apply(elements, root.querySelectorAll(LOAD_SELECTOR));
    }
    elements.forEach(function (el) {
      if (fired ? fired.has(el) : el.dataset.eventTrackingFired === 'true') {
        return;
      }
      if (fired) { fired.add(el); } else { el.dataset.eventTrackingFired = 'true'; }
      trackElement(el);
    });
  }

  function start() {
    fireLoadEvents(document);
    if (typeof MutationObserver === 'function') {
      new MutationObserver(function (mutations) {
        mutations.forEach(function (mutation) {
          Array.prototype.forEach.call(mutation.addedNodes, function (node) {
            if (node.nodeType === 1) {
              fireLoadEvents(node);
            }
          });
        });
      }).observe(document.documentElement, {childList: true, subtree: true});
    }
  }

  function mixin() {
    return {
      methods: {
        trackEvent: function (event, additionalProperties, category) {
          return trackEvent(event, additionalProperties, category);
        },
        track_event: function (event, additionalProperties, category) {
          return trackEvent(event, additionalProperties, category);
        }
      }
    };
  }

  configureFromScript(script);
  // Capture phase: a handler that stops propagation must not hide the click from tracking.
  document.addEventListener('click', onClick, true);
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }

  window.InternalEvents = {
    version: VERSION,
    configure: configure,
    trackEvent: trackEvent,
    track_event: trackEvent,
    mixin: mixin,
    flush: flush,
    pageViewId: function () { return pageViewId; }
  };
}(window, document));
