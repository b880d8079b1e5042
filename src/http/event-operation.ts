import {
  defaultFieldResolver,
  GraphQLObjectType,
  GraphQLSchema,
  Kind,
  visit,
  type DocumentNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLFieldResolver,
  type OperationDefinitionNode,
} from "graphql";

/** What an event of a subscription is executed with: the event, and the root field's arguments (computed once). */
export interface EventRoot {
  event: unknown;
  args: Record<string, unknown>;
}

/**
 * A subscription's operation as executed for each of its events: the root
 * field without its arguments, the variables only those its selection uses.
 * graphql-jit executes a compiled operation by coercing every variable of it
 * and the root field's arguments again for each event; a turn's `input`
 * (its message) is the largest of them, and its coercion the largest part of
 * an event's execution (BENCHMARKS.md, "What was tried"). The root field's
 * own `resolve` still runs for each event, with the arguments computed once
 * per subscription (`EventRoot`). The event schema is the schema with its
 * subscription type replaced by one of the same name holding that one field,
 * so errors and `info.parentType` name the type as graphql-js would; `info`'s
 * variables are only those the selection uses.
 */
export interface EventOperation {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName: string | undefined;
  /** The subscription's root field, as the original schema defines it, and as the document selects it. */
  field: GraphQLField<unknown, unknown>;
  fieldNode: FieldNode;
  /** The subscription's own operation (its variables define the root field's arguments). */
  operation: OperationDefinitionNode;
}

/** The event operation of a subscription document, or null when it has no plain root field (an alias is fine; a fragment or directive at the root is not). */
export function eventOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
): EventOperation | null {
  const operation = operationOf(document, operationName);
  const subscription = schema.getSubscriptionType();
  if (operation?.operation !== "subscription" || !subscription) return null;
  const [fieldNode, ...others] = operation.selectionSet.selections;
  if (!fieldNode || others.length > 0 || fieldNode.kind !== Kind.FIELD || fieldNode.directives?.length) return null;
  const field = subscription.getFields()[fieldNode.name.value];
  if (!field) return null;

  const fragments = document.definitions.filter((definition) => definition.kind === Kind.FRAGMENT_DEFINITION);
  const selection = { ...fieldNode, arguments: [] };
  const used = variablesIn([selection, ...fragments]);
  const eventQuery: OperationDefinitionNode = {
    ...operation,
    directives: [],
    variableDefinitions: operation.variableDefinitions?.filter((definition) =>
      used.has(definition.variable.name.value),
    ),
    selectionSet: { ...operation.selectionSet, selections: [selection] },
  };
  return {
    schema: eventSchemaFor(schema, subscription, field),
    document: { kind: Kind.DOCUMENT, definitions: [eventQuery, ...fragments] },
    operationName: operation.name?.value,
    field,
    fieldNode,
    operation,
  };
}

function operationOf(document: DocumentNode, name: string | null | undefined): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  if (!name) return operations.length === 1 ? operations[0] : undefined;
  return operations.find((operation) => operation.name?.value === name);
}

function variablesIn(nodes: readonly object[]): Set<string> {
  const names = new Set<string>();
  for (const node of nodes) {
    visit(node as DocumentNode, {
      Variable(variable) {
        names.add(variable.name.value);
      },
    });
  }
  return names;
}

const eventSchemas = new WeakMap<GraphQLSchema, Map<string, GraphQLSchema>>();

/** The schema with a subscription type of the same name whose one field, of the same type and without arguments, resolves each `EventRoot` with the field's own resolver. */
function eventSchemaFor(
  schema: GraphQLSchema,
  subscription: GraphQLObjectType,
  field: GraphQLField<unknown, unknown>,
): GraphQLSchema {
  let byField = eventSchemas.get(schema);
  if (!byField) eventSchemas.set(schema, (byField = new Map()));
  const known = byField.get(field.name);
  if (known) return known;
  const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
  const root = new GraphQLObjectType({
    name: subscription.name,
    fields: {
      [field.name]: {
        type: field.type,
        resolve: (source, _args, context, info) => {
          const { event, args } = source as EventRoot;
          return resolve(event, args, context, info);
        },
      },
    },
  });
  const eventSchema = new GraphQLSchema({
    query: schema.getQueryType(),
    mutation: schema.getMutationType(),
    subscription: root,
    types: Object.values(schema.getTypeMap()).filter((type) => type !== subscription),
    directives: schema.getDirectives(),
  });
  byField.set(field.name, eventSchema);
  return eventSchema;
}
