import {
  GraphQLError,
  createSourceEventStream,
  getArgumentValues,
  getVariableValues,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from "graphql";
import { compileQuery, isCompiledQuery, type CompiledQuery } from "graphql-jit";
import { isAsyncIterable, isPromise, type Plugin } from "graphql-yoga";
import { log } from "../log.ts";
import { eventOperation, type EventOperation, type EventRoot } from "./event-operation.ts";
import { isAbort, masked } from "./stream-errors.ts";
import { keepUnmapped } from "./unmapped-streams.ts";

/**
 * Runs a subscription's events with the operation compiled by graphql-jit,
 * and masks their errors itself. A turn sends one event per delta:
 * compiled execution costs a turn less CPU than graphql-tools' executor, and
 * Yoga's error masking, left to run, wraps the stream in Envelop's
 * per-event mapping, the largest allocation per event (BENCHMARKS.md, "What was tried").
 *
 * The source stream (the field's arguments, the resolver's refusals) stays
 * with graphql-js. @envelop/graphql-jit hands subscribe resolvers the
 * variables instead of the field's arguments, and executes each event with
 * variables already coerced, coercing them again (an enum's internal value
 * then fails); here each event is executed with the request's own variables,
 * by the subscription's event operation where it has one (event-operation.ts:
 * the root field's arguments are computed once, not for every event).
 *
 * The result is set with `setResultAndStopExecution`, so the onSubscribe
 * hooks of the plugins after this one do not run: keep it last among
 * plugins with onSubscribe hooks (Yoga's own masking comes after every
 * user plugin, and is what this replaces for these streams).
 */
export function useJitStreamEvents(options: { onCompiled?: (operationName: string) => void } = {}): Plugin {
  // Per parsed document (Yoga's parse cache hands the same object back for
  // the same text): "once" until its second use, since compiling costs more
  // than a few executions and a one-off document (literal arguments) would pay it for nothing;
  // null when the compiler cannot take it.
  const compiled = new WeakMap<DocumentNode, Map<string, Compiled | "once" | null>>();

  function compiledFor(args: ExecutionArgs): Compiled | null {
    let operations = compiled.get(args.document);
    if (!operations) compiled.set(args.document, (operations = new Map()));
    const name = args.operationName ?? "";
    const entry = operations.get(name);
    if (entry === undefined) {
      operations.set(name, "once");
      return null;
    }
    if (entry !== "once") return entry;
    let operation: Compiled | null = null;
    try {
      const event = eventOperation(args.schema, args.document, args.operationName);
      const result = event
        ? compileQuery(event.schema, event.document, event.operationName)
        : compileQuery(args.schema, args.document, args.operationName ?? undefined);
      if (isCompiledQuery(result)) {
        operation = { query: result, event };
        options.onCompiled?.(name);
      }
    } catch (error) {
      log.warn("stream events run uncompiled: graphql-jit refused the operation", { error });
    }
    operations.set(name, operation);
    return operation;
  }

  return {
    async onSubscribe({ args, setResultAndStopExecution }) {
      const operation = compiledFor(args as ExecutionArgs);
      if (!operation) return;
      const source = await createSourceEventStream(args as ExecutionArgs);
      if (!isAsyncIterable(source)) {
        setResultAndStopExecution(withMaskedErrors(source as ExecutionResult));
        return;
      }
      const events = eventResults(source, eventExecutor(operation, args as ExecutionArgs));
      keepUnmapped((args.contextValue as { request?: Request }).request, events);
      setResultAndStopExecution(events);
    },
  };
}

/** A compiled subscription: its event operation when it has one (event-operation.ts), else the whole operation. */
interface Compiled {
  query: CompiledQuery;
  event: EventOperation | null;
}

type Executor = (event: unknown) => ReturnType<CompiledQuery["query"]>;

/** Executes one event of this subscription; the root field's arguments are computed here, once. */
function eventExecutor({ query, event }: Compiled, args: ExecutionArgs): Executor {
  const variables = args.variableValues;
  if (!event) return (value) => query.query(value, args.contextValue, variables);
  const coerced = getVariableValues(args.schema, event.operation.variableDefinitions ?? [], variables ?? {});
  // The source stream was made with these same variables, so they coerce.
  if (coerced.errors) throw coerced.errors[0];
  const rootArgs = getArgumentValues(event.field, event.fieldNode, coerced.coerced);
  return (value) => query.query({ event: value, args: rootArgs } satisfies EventRoot, args.contextValue, variables);
}

async function* eventResults(source: AsyncIterable<unknown>, execute: Executor): AsyncGenerator<ExecutionResult> {
  try {
    for await (const event of source) {
      const result = execute(event);
      // Speed only: an event's fields resolve synchronously; awaiting would cost it a turn of the microtask queue.
      yield withMaskedErrors(isPromise(result) ? await result : result);
    }
  } catch (error) {
    // As Yoga's masking would: an abort passes as it is, anything else leaves masked.
    if (isAbort(error)) throw error;
    throw masked(error);
  }
}

function withMaskedErrors(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.length) return result;
  return { ...result, errors: result.errors.map((error) => masked(asGraphQLJsReports(error)) as GraphQLError) };
}

const NON_NULL_VIOLATION = /^Cannot return null for non-nullable field /;

/**
 * graphql-jit reports a null in a non-null field as a GraphQLError of its
 * own; graphql-js as one wrapping a plain Error, which Yoga's masking hides.
 * Reported as graphql-js does, a compiled run shows what the first run showed.
 */
function asGraphQLJsReports(error: GraphQLError): GraphQLError {
  if (error.originalError !== undefined || !NON_NULL_VIOLATION.test(error.message)) return error;
  return new GraphQLError(error.message, { path: error.path, originalError: new Error(error.message) });
}
