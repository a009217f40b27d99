// The demo page's buttons and log (a file, not inline: the Content-Security-Policy allows no inline script).
(function () {
  var log = document.getElementById('log');
  function note(text) {
    var item = document.createElement('li');
    item.textContent = new Date().toLocaleTimeString() + '  ' + text;
    log.appendChild(item);
  }

  document.getElementById('js-button').addEventListener('click', function () {
    InternalEvents.track_event('click_demo_js', {label: 'js', value: 1, source_page: 'demo'});
    note('click_demo_js (InternalEvents.track_event)');
  });

  // A Vue-style component: mixin() gives it this.track_event / this.trackEvent.
  var component = Object.assign({name: 'DemoComponent'}, InternalEvents.mixin().methods);
  document.getElementById('mixin-button').addEventListener('click', function () {
    component.trackEvent('click_demo_mixin', {label: 'mixin', property: component.name});
    note('click_demo_mixin (mixin method)');
  });

  document.getElementById('add-load-element').addEventListener('click', function () {
    var el = document.createElement('div');
    el.dataset.eventTracking = 'render_demo_late_element';
    el.dataset.eventTrackingLoad = 'true';
    el.textContent = 'Added at ' + new Date().toLocaleTimeString() + ': sent render_demo_late_element.';
    document.getElementById('late-elements').appendChild(el);
    note('render_demo_late_element (data-event-tracking-load, added later)');
  });

  document.addEventListener('click', function (event) {
    var el = event.target.closest('[data-event-tracking]');
    if (el) {
      note(el.dataset.eventTracking + ' (data-event-tracking)');
    }
  });
  note('view_demo_page (data-event-tracking-load)');
}());
