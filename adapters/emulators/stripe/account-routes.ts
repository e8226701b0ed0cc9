import type { Handler } from './api-context.ts';
import { renderAccount } from './account-object.ts';
import { checkKeys } from './params.ts';

/** `GET /v1/account`: the account the key belongs to, which here is always the one account. */
export const retrieveAccount: Handler = (req, svc) => {
  checkKeys(req.params, new Set(['expand']));
  return renderAccount(svc.state.account);
};
