import { readUIMessageStream, type UIMessage, type UIMessageChunk } from "ai";

/**
 * The ai package's fold of `chunks`, as useChat folds a stream
 * (readUIMessageStream): its last snapshot, or undefined when it made none.
 * Each chunk is cloned, so the fold cannot change what the test compares with.
 */
export async function libraryFold(chunks: readonly UIMessageChunk[]): Promise<UIMessage | undefined> {
  const stream = new ReadableStream<UIMessageChunk>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(structuredClone(chunk));
      controller.close();
    },
  });
  let last: UIMessage | undefined;
  for await (const snapshot of readUIMessageStream({ stream })) last = snapshot;
  return last;
}
