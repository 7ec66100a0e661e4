// Registry credentials from the environment, read only here at the edge.

import type { Credentials } from '../store/http.js';
import type { CommandIO } from './io.js';

export function credentialsFrom(io: CommandIO): { credentials?: Credentials } {
  const username = io.env.WARDEN_REGISTRY_USER;
  const password = io.env.WARDEN_REGISTRY_PASSWORD;
  return username && password !== undefined ? { credentials: { username, password } } : {};
}
