import rhea, { type Message, type Typed } from "rhea";

/**
 * A typed view of the parts of rhea's runtime that its typings leave out or type as `any`:
 * the AMQP codec (Reader, Writer, wrap_*) and the composite constructors of message sections
 * and delivery outcomes.
 */

export interface AmqpReader {
  position: number;
  read(): Typed;
  remaining(): number;
}

export interface AmqpWriter {
  write(value: Typed): void;
  toBuffer(): Buffer;
}

export interface AmqpTypes {
  Reader: new (buffer: Buffer) => AmqpReader;
  Writer: new () => AmqpWriter;
  wrap(value: unknown): Typed;
  wrap_long(value: number | Buffer): Typed;
  wrap_ulong(value: number): Typed;
  wrap_int(value: number): Typed;
  wrap_uint(value: number): Typed;
  wrap_boolean(value: boolean): Typed;
  wrap_string(value: string): Typed;
  wrap_symbol(value: string): Typed;
  wrap_timestamp(value: number): Typed;
  wrap_uuid(value: Buffer): Typed;
  wrap_binary(value: Buffer): Typed;
  wrap_map(value: object, keyWrapper?: (key: string) => Typed): Typed;
  wrap_symbolic_map(value: object): Typed;
  wrap_array(values: unknown[], code: number, descriptors: undefined): Typed;
  described(descriptor: Typed, value: Typed): Typed;
  unwrap(value: Typed): unknown;
}

interface Composite {
  described(): Typed;
}

export interface AmqpMessageUtil {
  encode(message: object): Buffer;
  decode(buffer: Buffer): Message;
  header(fields: object): Composite;
  properties(fields: object): Composite;
  accepted(): Composite;
  rejected(fields: { error?: { condition: string; description?: string } }): Composite;
  modified(fields: object): Composite;
  released(): Composite;
}

export const amqpTypes = rhea.types as unknown as AmqpTypes;
export const amqpMessage = rhea.message as unknown as AmqpMessageUtil;

/** Writes one AMQP value (a described section, a map, ...) to its bytes. */
export function encodeTyped(value: Typed): Buffer {
  const writer = new amqpTypes.Writer();
  writer.write(value);
  return writer.toBuffer();
}

// rhea decodes an incoming transfer of message format 0 before it reaches a link's handler, and
// drops the bytes. The broker keeps a message's sections as they were sent (so their AMQP types
// survive untouched), so the bytes are remembered beside each decoded message. A WeakMap leaves
// the decoded object exactly as rhea made it for every other user of rhea in the process.
const rawBytes = new WeakMap<object, Buffer>();
let captureInstalled = false;

export function installRawCapture(): void {
  if (captureInstalled) return;
  captureInstalled = true;
  const util = rhea.message as unknown as { decode(buffer: Buffer): Message };
  const decode = util.decode.bind(util);
  util.decode = (buffer: Buffer): Message => {
    const message = decode(buffer);
    rawBytes.set(message, buffer);
    return message;
  };
}

/** The bytes a decoded message came from; re-encoded when rhea decoded it before capture began. */
export function rawBytesOf(message: Message): Buffer {
  return rawBytes.get(message) ?? amqpMessage.encode(message);
}
