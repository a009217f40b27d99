// The setup panel shown while nothing is stored: how to point each kind of tracker at this collector, each
// snippet copyable, and a button that sends one test event from this page.

import {h, replace} from './dom.js';
import {copy} from './panel.js';
import {toast} from './status.js';

const PAYLOAD_DATA = 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4';

/** The snippets for a collector at `url` (this page's origin). */
function snippets(url) {
  const port = new URL(url).port || '80';
  return [
    ['Python (snowplow-tracker)', `from snowplow_tracker import Emitter, StructuredEvent, Tracker

tracker = Tracker("demo", emitters=Emitter("${url}", batch_size=1), app_id="my-app")
tracker.track(StructuredEvent(category="demo", action="click_button", label="save"))
tracker.flush()`],
    ['Browser tracker', `snowplow('newTracker', 'sp', '${url}', {appId: 'my-app', eventMethod: 'post'});
snowplow('trackPageView');`],
    ['GitLab (GDK)', `gdk config set snowplow_micro.enabled true
gdk config set snowplow_micro.port ${port}
gdk reconfigure && gdk restart`],
    ['GitLab AI Gateway', `AIGW_INTERNAL_EVENT__ENABLED=true
AIGW_INTERNAL_EVENT__ENDPOINT=${url}
AIGW_INTERNAL_EVENT__BATCH_SIZE=1`],
    ['curl', `curl '${url}/i?e=se&se_ca=demo&se_ac=curl_test&aid=my-app&p=srv&tv=curl-1'`],
    ['Snowplow Inspector', `Open the extension's menu, choose "Change Destination" and enter ${url}`],
  ];
}

/** Send one structured event to this collector, as a browser tracker would. */
async function sendTestEvent() {
  const event = {e: 'se', p: 'web', tv: 'micro-dashboard-ui', aid: 'setup-test', eid: crypto.randomUUID(),
    dtm: String(Date.now()), se_ca: 'micro-dashboard', se_ac: 'test_event', se_la: 'setup panel'};
  try {
    const response = await fetch('/com.snowplowanalytics.snowplow/tp2', {method: 'POST', credentials: 'omit',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify({schema: PAYLOAD_DATA, data: [event]})});
    toast(response.ok ? 'Test event sent' : `The collector answered ${response.status}`);
  } catch (err) {
    toast(`Could not send: ${err.message}`);
  }
}

/** Fill the setup panel and wire its buttons. */
export function wireSetup() {
  const url = location.origin;
  replace(document.getElementById('setup-snippets'), snippets(url).map(([title, text]) => h('section',
    {class: 'snippet'}, h('header', {}, h('span', {}, title), h('button', {type: 'button', class: 'copy-snippet',
      'aria-label': `Copy the ${title} snippet`, onclick: () => copy(text, `${title} snippet`)}, 'Copy')),
    h('pre', {}, text))));
  document.getElementById('send-test').addEventListener('click', sendTestEvent);
}
