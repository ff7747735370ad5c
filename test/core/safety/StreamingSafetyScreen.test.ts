import { describe, expect, it } from "vitest";
import { contentSafetyPolicySchema } from "../../../src/core/safety/contentSafetyPolicy.js";
import { ContentSafetyScreen } from "../../../src/core/safety/ContentSafetyScreen.js";
import { StreamingSafetyScreen } from "../../../src/core/safety/StreamingSafetyScreen.js";
import { FakeContentSafety } from "../../fakes/FakeContentSafety.js";

const policy = contentSafetyPolicySchema.parse({ categories: { violence: { threshold: 4 } }, output: true, outputWindowChars: 100, onUnavailable: { categories: "fail_closed" } });

function setUp() {
  const safety = new FakeContentSafety();
  const screen = new ContentSafetyScreen({ safety, clock: { nowInMs: () => 0 }, cacheKey: new Uint8Array(32) });
  return { safety, stream: new StreamingSafetyScreen<string>(screen, policy, (chunk) => chunk) };
}

async function run(stream: StreamingSafetyScreen<string>, chunks: readonly string[]) {
  const sent: string[] = [];
  for (const chunk of chunks) {
    const step = await stream.push(chunk);
    sent.push(...step.release);
    if (step.stopped) return { sent, stopped: step.stopped };
  }
  const end = await stream.finish();
  sent.push(...end.release);
  return { sent, stopped: end.stopped };
}

describe("StreamingSafetyScreen", () => {
  it("holds chunks until a window is full, then releases them all in order", async () => {
    const { stream, safety } = setUp();
    const first = await stream.push("a".repeat(60));
    expect(first.release).toEqual([]);
    const second = await stream.push("b".repeat(60));
    expect(second.release).toEqual(["a".repeat(60), "b".repeat(60)]);
    expect(safety.calls.analyzeText).toBe(1);
    expect((await stream.finish()).release).toEqual([]);
  });

  it("never releases a window that is blocked, nor anything after it", async () => {
    const { stream } = setUp();
    const words = [..."safe words here, more words. ".repeat(5).match(/.{1,10}/g)!, "now [[cs:violence=6]] harm", " and more text after"];
    const result = await run(stream, words);
    expect(result.stopped).toBe("blocked");
    expect(result.sent.join("")).not.toContain("[[cs:");
    expect(result.sent.join("")).not.toContain("harm");
    expect(stream.result().findings[0]).toMatchObject({ name: "Violence", severity: 6 });
  });

  it("screens the last partial window when the stream ends", async () => {
    const { stream } = setUp();
    const result = await run(stream, ["short [[cs:violence=4]]"]);
    expect(result).toEqual({ sent: [], stopped: "blocked" });
  });

  it("stops (fail closed) when the service is down", async () => {
    const { stream, safety } = setUp();
    safety.unavailable = true;
    expect(await run(stream, ["x".repeat(150)])).toEqual({ sent: [], stopped: "unavailable" });
  });

  it("passes a clean stream unchanged", async () => {
    const { stream } = setUp();
    const chunks = "The quick brown fox jumps over the lazy dog. ".repeat(6).split(" ");
    const result = await run(stream, chunks);
    expect(result.sent).toEqual(chunks);
    expect(result.stopped).toBeNull();
  });
});
