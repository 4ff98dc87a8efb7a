// What a token endpoint's refusal means. Both identity platforms answer OAuth's JSON error
// (`error`, `error_description`; Microsoft adds `error_codes` and AADSTS codes in the text):
//   Microsoft AADSTS65001, 65004, 700016, 7000112, 500011, 90002 (consent withdrawn or never
//     given, the app's service principal gone from the customer tenant, the tenant unknown)
//                                      → microsoft_consent_revoked   (needs re-authorisation)
//   Microsoft AADSTS7000215, 7000222 (wrong or expired secret), 700027 (certificate not
//     registered, bad signature), other invalid_client / unauthorized_client / invalid_grant
//                                      → microsoft_auth_revoked      (needs re-authorisation)
//   Google invalid_grant (refresh token revoked or expired, a bad JWT), invalid_client,
//     unauthorized_client (domain-wide delegation not granted for the scope), access_denied,
//     admin_policy_enforced, org_internal
//                                      → google_auth_revoked         (needs re-authorisation)
//   invalid_request, invalid_scope, unsupported_grant_type (how Inlet asked, not the grant)
//                                      → <what>_token_request_invalid (dead-letter, no status change)
//   an unreadable 400/401/403 body     → <what>_auth_revoked         (needs re-authorisation)
//   429, 5xx, 408                      → retry (http.ts `failure`)
// Error descriptions carry codes, trace ids and app ids, never the credentials sent.
import { z } from "zod";
import { authorisationLost, permanent, type InletError } from "../domain/errors.ts";

export type TokenIssuer = "google" | "microsoft";

const errorBodySchema = z.looseObject({ error: z.string().optional(), error_description: z.string().optional(), error_codes: z.array(z.number()).optional() });

const MICROSOFT_CONSENT = new Set([65001, 65004, 700016, 7000112, 500011, 90002]);
const REQUEST_ERRORS = new Set(["invalid_request", "invalid_scope", "unsupported_grant_type"]);

function readBody(text: string): z.infer<typeof errorBodySchema> {
  try {
    const parsed = errorBodySchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

/** The AADSTS codes an answer names (from `error_codes`, else from the description). */
export function aadstsCodes(body: { error_codes?: number[] | undefined; error_description?: string | undefined }): number[] {
  if (body.error_codes?.length) return body.error_codes;
  return [...(body.error_description ?? "").matchAll(/AADSTS(\d+)/g)].map((m) => Number(m[1]));
}

/** The InletError for a token endpoint's 400, 401 or 403. */
export function tokenRefusal(issuer: TokenIssuer, status: number, text: string): InletError {
  const body = readBody(text);
  const error = body.error ?? `HTTP ${status}`;
  const detail = `${issuer}: the token endpoint refused the grant (${error}${body.error_description ? `: ${body.error_description.split(/\r?\n/)[0]!.slice(0, 240)}` : ""})`;
  const codes = issuer === "microsoft" ? aadstsCodes(body) : [];
  if (codes.some((c) => MICROSOFT_CONSENT.has(c))) return authorisationLost("microsoft_consent_revoked", detail);
  if (REQUEST_ERRORS.has(error)) return permanent(`${issuer}_token_request_invalid`, detail);
  return authorisationLost(`${issuer}_auth_revoked`, detail);
}
