import * as oauth from 'oauth4webapi';

/**
 * Runs `attempt`, and once more if the server asked for a DPoP nonce (`use_dpop_nonce`),
 * whether oauth4webapi threw the challenge (a processed response, a resource request) or
 * `attempt` resolved with the raw answer (a token request). The answer carried the nonce,
 * which the proof maker has recorded, so the second proof has it; whatever the second
 * attempt gives is the result. Safe to repeat: a `use_dpop_nonce` answer consumed nothing
 * (no authorization code, no refresh token).
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8 (authorization server nonce)
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-9 (resource server nonce)
 */
export async function retryOnNonceChallenge<T>(attempt: () => Promise<T>): Promise<T> {
  let answer: T;
  try {
    answer = await attempt();
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error;
    await discard((error as { response?: unknown }).response);
    return attempt();
  }
  if (!(answer instanceof Response && (await isNonceChallenge(answer)))) return answer;
  await discard(answer);
  return attempt();
}

/**
 * A raw answer that asks for a DPoP nonce: `use_dpop_nonce` in `WWW-Authenticate` (a 401 or a 400),
 * or in the JSON error body of a 400 (the token endpoint's form).
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8
 */
async function isNonceChallenge(response: Response): Promise<boolean> {
  if (response.status !== 400 && response.status !== 401) return false;
  if (/error="use_dpop_nonce"/.test(response.headers.get('www-authenticate') ?? '')) return true;
  if (response.status !== 400) return false;
  const body: unknown = await response.clone().json().catch(() => undefined);
  return typeof body === 'object' && body !== null && (body as { error?: unknown }).error === 'use_dpop_nonce';
}

/** Frees the connection of an answer that is not going to be read. */
async function discard(response: unknown): Promise<void> {
  if (response instanceof Response && !response.bodyUsed) await response.body?.cancel();
}
