// V8's verdict on module bytes as shipped: the engine that will run them is
// the judge of their validity, for admission and for the audit alike.

/** Why V8 refuses `bytes` (its message, without the API's prefix), or null when it validates them. */
export function v8Refusal(bytes: Uint8Array): string | null {
  if (WebAssembly.validate(bytes)) return null;
  try {
    new WebAssembly.Module(bytes);
  } catch (error) {
    return v8Reason(error as Error);
  }
  return 'WebAssembly.validate refused it';
}

/** A CompileError's message without the name of the call that threw it. */
export const v8Reason = (error: Error): string => error.message.replace(/^WebAssembly\.(Module|compile)\(\): /, '');
