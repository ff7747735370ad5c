const DOTNET_EPOCH_TICKS = 621_355_968_000_000_000n;

/** A time as .NET ticks (100 ns since 0001-01-01) in an 8-byte big-endian long, as Service Bus sends it. */
export function dotnetTicksOf(ms: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(BigInt(Math.trunc(ms)) * 10_000n + DOTNET_EPOCH_TICKS);
  return bytes;
}
