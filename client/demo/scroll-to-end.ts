// Both demo pages keep their newest message in view.
import { useEffect, useRef } from "react";

/**
 * A ref for an element after the last message, scrolled into view whenever
 * `count` (the messages) or `last` (the newest, growing) changes.
 */
export function useScrollToEnd(count: number, last: unknown) {
  const end = useRef<HTMLDivElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: it scrolls when the messages grow or the last one changes.
  useEffect(() => {
    // (A block body: scrollIntoView returns a promise in recent browsers, and an
    // effect must return nothing or a cleanup function.)
    end.current?.scrollIntoView({ block: "end" });
  }, [count, last]);
  return end;
}
