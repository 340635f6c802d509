/**
 * `PreEncoded`: a response message a handler has already serialised. Writing one skips the
 * method's encoder — for servers that send the same bytes (or the same large parts) to many
 * streams, such as a watch fanning one event out to a thousand watchers, encoding once instead of
 * per stream is what the CPU goes to. The bytes must be a valid encoding of the response type.
 */
export class PreEncoded {
  constructor(readonly bytes: Uint8Array) {}
}
