// Request ids: a random prefix per process and a counter, so ids are unique,
// cheap, and say nothing about other tenants' traffic beyond their order.

import { randomBytes } from 'node:crypto';

const prefix = randomBytes(6).toString('hex');
let counter = 0;

export function nextRequestId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${prefix}-${counter.toString(36)}`;
}
