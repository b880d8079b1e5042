// The demo's useChat page (#/ai-sdk/<chat>: @ai-sdk/react's useChat on
// GatewayChatTransport) in headless Chromium, against an in-process gateway and
// the mock streamer: an answer streams and survives a reload (the stored
// history as useChat's initial messages), stop() stops the turn at the
// gateway, a reload mid-answer resumes it to its end, and a refused message
// stays in the composer.
import { randomUUID } from "node:crypto";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildDemo } from "../scripts/build-demo.ts";
import { answerText, lastAssistant, openBrowser, runBrowser, send } from "./support/browser.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";

let gateway: TestGateway;

beforeAll(async () => {
  buildDemo({ onlyIfStale: true });
  gateway = await startTestGateway({ MOCK_DELTA_DELAY_MS: "40" });
}, 60_000);
afterAll(async () => {
  await gateway?.close();
});

/** Signs in as a guest on the demo, then opens a new chat on the useChat page. */
async function openUseChatPage(page: Page): Promise<string> {
  await page.goto(`${gateway.url}/`);
  await page.getByTestId("sign-in").click();
  await page.getByTestId("messages-left").waitFor();
  const chatId = randomUUID();
  await page.goto(`${gateway.url}/#/ai-sdk/${chatId}`);
  await page.getByTestId("ai-sdk-chat").waitFor();
  await page.getByTestId("composer").waitFor();
  return chatId;
}

const idle = (page: Page) => expect.poll(() => page.getByTestId("send").isVisible()).toBe(true);
const tokens = (text: string) => text.match(/token\d+/g) ?? [];

describe.skipIf(!runBrowser)("the useChat page on GatewayChatTransport", () => {
  test("an answer streams through useChat, a reload shows it from the store, and stop() stops a slow one", async () => {
    const { page, errors, close } = await openBrowser();
    try {
      const chatId = await openUseChatPage(page);
      await send(page, "Hello from useChat");
      await page.locator("[data-testid=message][data-role=USER]", { hasText: "Hello from useChat" }).waitFor();
      const answer = lastAssistant(page);
      await expect
        .poll(() => answer.locator("[data-part=text]").allTextContents())
        .toContainEqual(expect.stringContaining("sunny at 21°C"));
      await idle(page);
      const answerId = (await answer.getAttribute("data-message-id"))!;
      const finalText = await answerText(page, answerId);
      expect(finalText).toContain('You said: "Hello from useChat"');
      expect(await answer.locator("[data-part=reasoning]").count()).toBe(1);
      expect(await answer.locator("[data-part=tool]").getAttribute("data-state")).toBe("output-available");

      // Reload: useChat starts from the stored history, the same message.
      await page.reload();
      await page.locator(`[data-message-id="${answerId}"]`).waitFor();
      await idle(page);
      expect(await answerText(page, answerId)).toBe(finalText);

      // A slow answer, stopped with useChat's stop(): the gateway stores it as stopped.
      await send(page, "[slow] Tell me a long story");
      const slow = lastAssistant(page);
      await expect.poll(async () => (await slow.getAttribute("data-message-id")) !== answerId).toBe(true);
      const slowId = (await slow.getAttribute("data-message-id"))!;
      await expect.poll(() => answerText(page, slowId), { timeout: 15_000 }).toMatch(/Part 3 of a long answer/);
      await page.getByTestId("stop").click();
      await idle(page);

      // The typed page reads the chat from the gateway: the answer is stored ABORTED.
      await page.goto(`${gateway.url}/#/chat/${chatId}`);
      await page.locator(`[data-message-id="${slowId}"][data-status=ABORTED]`).waitFor();
      expect(await answerText(page, slowId)).toMatch(/Part \d+ of a long answer/);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 90_000);

  test("a reload mid-answer resumes it through reconnectToStream, every token once, to its end", async () => {
    const { page, errors, close } = await openBrowser();
    try {
      await openUseChatPage(page);
      await send(page, "[long:120] Keep going after a reload");
      const answer = lastAssistant(page);
      await expect
        .poll(() => answer.locator("[data-part=text]").allTextContents())
        .toContainEqual(expect.stringContaining("token000010"));
      const answerId = (await answer.getAttribute("data-message-id"))!;
      const before = await answerText(page, answerId);
      expect(before).not.toContain("token000120");

      await page.reload();
      await page.locator(`[data-message-id="${answerId}"]`).waitFor();
      // Streaming again after the reload (the stop button), then done.
      await page.getByTestId("stop").waitFor();
      await expect.poll(() => answerText(page, answerId), { timeout: 20_000 }).toContain("token000120");
      await idle(page);
      const expected = Array.from({ length: 120 }, (_, i) => `token${String(i + 1).padStart(6, "0")}`);
      expect(tokens(await answerText(page, answerId))).toEqual(expected);
      expect(await page.locator("[data-testid=message][data-role=ASSISTANT]").count()).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 90_000);

  test("a refused message reads in plain words and goes back into the composer", async () => {
    const { page, errors, close } = await openBrowser();
    try {
      await openUseChatPage(page);
      const tooLong = "y".repeat(2001);
      await page.getByTestId("composer").fill(tooLong);
      expect(await page.getByTestId("char-count").textContent()).toBe("2,001 / 2,000 (too long to send)");
      await page.getByTestId("send").click();
      const refusal = page.getByTestId("turn-error");
      await refusal.waitFor();
      expect(await refusal.textContent()).toContain("This message is too long to send");
      expect(await refusal.getAttribute("data-code")).toBe("bad_request:api");
      await expect.poll(() => page.getByTestId("composer").inputValue()).toBe(tooLong);
      expect(await page.locator("[data-testid=message]").count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);
});
