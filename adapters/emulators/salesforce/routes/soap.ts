// The partner SOAP `login` call, which jsforce's `conn.login()` uses when the connection has no
// OAuth client. Only the fields jsforce reads are filled in.
import type { Identity } from '../auth.ts';
import type { Reply } from '../http.ts';
import type { EmulatorState } from '../state.ts';

const XML_ENTITIES: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&apos;': "'",
};

const unescapeXml = (text: string): string =>
  text.replace(/&(?:amp|lt|gt|quot|apos);/g, (entity) => XML_ENTITIES[entity] ?? entity);
const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function element(xml: string, name: string): string | undefined {
  const match = new RegExp(`<(?:\\w+:)?${name}>([^<]*)</(?:\\w+:)?${name}>`).exec(xml);
  return match ? unescapeXml(match[1]!) : undefined;
}

const envelope = (body: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;

const xmlReply = (status: number, body: string): Reply => ({
  status,
  text: envelope(body),
  headers: { 'Content-Type': 'text/xml;charset=UTF-8' },
});

/** `POST /services/Soap/u/{version}` carrying a `login` request. */
export function soapLoginReply(
  version: string,
  bodyText: string,
  identity: Identity,
  state: EmulatorState,
): Reply {
  const session = state.tokens.soapLogin(
    element(bodyText, 'username') ?? '',
    element(bodyText, 'password') ?? '',
  );
  if (!session) {
    return xmlReply(
      500,
      '<soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring></soapenv:Fault>',
    );
  }
  const base = state.loginUrl();
  const result = [
    `<passwordExpired>false</passwordExpired>`,
    `<sandbox>true</sandbox>`,
    `<serverUrl>${escapeXml(`${base}/services/Soap/u/${version}/${identity.orgId.slice(0, 15)}`)}</serverUrl>`,
    `<sessionId>${escapeXml(session)}</sessionId>`,
    `<userId>${identity.userId}</userId>`,
    `<userInfo><organizationId>${identity.orgId}</organizationId><userId>${identity.userId}</userId></userInfo>`,
  ].join('');
  return xmlReply(200, `<loginResponse><result>${result}</result></loginResponse>`);
}
