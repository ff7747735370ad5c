/** What a receiver decided for a locked message (a disposition or a $management update-disposition). */
export type Settlement =
  | { readonly kind: "complete" }
  | { readonly kind: "abandon"; readonly propertiesToModify?: Readonly<Record<string, unknown>> }
  | { readonly kind: "defer"; readonly propertiesToModify?: Readonly<Record<string, unknown>> }
  | {
      readonly kind: "deadLetter";
      readonly reason?: string;
      readonly description?: string;
      readonly propertiesToModify?: Readonly<Record<string, unknown>>;
    };
