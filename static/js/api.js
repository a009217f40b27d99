// The JSON API client: every request the page makes, with errors that carry the server's sentence.

export class ApiError extends Error {
  constructor(status, body) {
    // `error` is the sentence for people; `detail` is structured (the token, the known filters).
    super((body && (body.error || (typeof body.detail === 'string' && body.detail))) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** Fetch a JSON endpoint; a non-2xx answer throws an ApiError. */
export async function api(path, options = {}) {
  const response = await fetch(path, {headers: {Accept: 'application/json'}, ...options});
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}
