import { type BackgroundUsageSettlements } from "../../../limits/BackgroundUsageSettlements.js";
import { type Reservation } from "../../../limits/Reservation.js";
import { isRecord } from "../../../isRecord.js";
import { type TokenUsage } from "../../../pricing/priceUsage.js";
import { type OutputScanner } from "../../pipeline/OutputScanner.js";
import { ResponsesStreamSession } from "./ResponsesStreamSession.js";

/**
 * A created stream of a background Response (`background: true, stream: true`). The Response goes on
 * upstream when the caller leaves (to resume it later with `starting_after`), so a stream left before
 * its final event is settled at the reservation, and leaves the row a later read, cancel or replay
 * settles the real usage from (BackgroundUsageSettlements), as a queued create does.
 */
export class BackgroundStreamSession extends ResponsesStreamSession {
  readonly runsOnWithoutCaller = true;
  #responseId: string | null = null;

  constructor(
    scanner: OutputScanner,
    onFinal: ConstructorParameters<typeof ResponsesStreamSession>[1],
    private readonly settlements: BackgroundUsageSettlements,
  ) {
    super(scanner, onFinal);
  }

  override push(upstream: unknown): readonly string[] {
    if (this.#responseId === null && isRecord(upstream) && isRecord(upstream.response) && typeof upstream.response.id === "string") this.#responseId = upstream.response.id;
    return super.push(upstream);
  }

  settledWithoutCaller(reservation: Reservation, tokens: TokenUsage): Promise<void> {
    return this.#responseId === null ? Promise.resolve() : this.settlements.recordCreate({ responseId: this.#responseId, reservation, tokens });
  }
}
