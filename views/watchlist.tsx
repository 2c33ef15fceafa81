/** The watchlists page: each list with live quotes, and forms to add, remove, rename, create and delete. */
import type { Quote } from "../lib/market/simulator.ts";
import type { Watchlist } from "../lib/trading/watchlists.ts";
import { Field, FormError, type FormState, HxForm } from "./form.tsx";
import { LiveConnection } from "./live.tsx";
import { PostButton, QuotesTable } from "./trading.tsx";

/** Which form failed: adding to or renaming a list (by id), or creating one. */
export type WatchlistForm = { form: "add" | "rename"; listId: string } | { form: "create" };

export type ListView = { list: Watchlist; quotes: Quote[] };

/** The ids of the n-th list's live figures start with this (a symbol can be in two lists). */
export const watchlistPrefix = (n: number) => `wl${n}`;

export function WatchlistPage(
  props: {
    lists: ListView[];
    failed?: { form: WatchlistForm; state: FormState };
    /** The page's live stream (routes/live/page_stream.ts). */
    live: string;
  },
) {
  const stateOf = (form: WatchlistForm) => {
    const failed = props.failed;
    if (!failed || failed.form.form !== form.form) return undefined;
    if ("listId" in form && "listId" in failed.form && failed.form.listId !== form.listId) {
      return undefined;
    }
    return failed.state;
  };
  return (
    <div class="page">
      <h1>Watchlists</h1>
      <LiveConnection stream={props.live} />
      {props.lists.map(({ list, quotes }, n) => {
        const base = listPath(list);
        const renameState = stateOf({ form: "rename", listId: list._id });
        return (
          <section class="card" aria-labelledby={`wl${n}-h`}>
            <h2 id={`wl${n}-h`}>{list.name}</h2>
            {quotes.length > 0
              ? (
                <QuotesTable
                  label={list.name}
                  quotes={quotes}
                  prefix={watchlistPrefix(n)}
                  action={(symbol) => (
                    <PostButton
                      action={`${base}/symbols/remove`}
                      values={{ symbol }}
                      label={
                        <>
                          Remove<span class="sr">{` ${symbol}`}</span>
                        </>
                      }
                    />
                  )}
                />
              )
              : <p class="muted">No symbols yet.</p>}
            <AddSymbolForm
              list={list}
              index={n}
              state={stateOf({ form: "add", listId: list._id })}
            />
            <details open={renameState !== undefined}>
              <summary>Rename or delete</summary>
              <RenameForm list={list} index={n} state={renameState} />
              <PostButton
                action={`${base}/delete`}
                label={`Delete “${list.name}”`}
                class="danger"
              />
            </details>
          </section>
        );
      })}
      <section class="card" aria-labelledby="new-list-h">
        <h2 id="new-list-h">New watchlist</h2>
        <CreateForm state={stateOf({ form: "create" })} />
      </section>
    </div>
  );
}

/** The path of a list's actions; ids may hold characters a path must encode. */
export function listPath(list: Watchlist): string {
  return `/watchlist/${encodeURIComponent(list._id)}`;
}

export function AddSymbolForm(props: { list: Watchlist; index: number; state?: FormState }) {
  return (
    <HxForm id={`add-${props.index}`} action={`${listPath(props.list)}/symbols`}>
      <FormError state={props.state} />
      <div class="row">
        <Field
          autocomplete="off"
          id={`wl${props.index}-symbol`}
          label="Add a symbol"
          name="symbol"
          placeholder="e.g. TSLA"
          maxlength={20}
          state={props.state}
        />
        <button type="submit">Add</button>
      </div>
    </HxForm>
  );
}

export function RenameForm(props: { list: Watchlist; index: number; state?: FormState }) {
  const state = { ...props.state, values: { name: props.list.name, ...props.state?.values } };
  return (
    <HxForm id={`rename-${props.index}`} action={`${listPath(props.list)}/rename`}>
      <FormError state={props.state} />
      <div class="row">
        <Field
          autocomplete="off"
          id={`wl${props.index}-name`}
          label="Name"
          name="name"
          maxlength={60}
          state={state}
        />
        <button type="submit">Rename</button>
      </div>
    </HxForm>
  );
}

export function CreateForm(props: { state?: FormState }) {
  return (
    <HxForm id="create-list" action="/watchlist">
      <FormError state={props.state} />
      <div class="row">
        <Field
          autocomplete="off"
          id="new-list-name"
          label="Name"
          name="name"
          maxlength={60}
          state={props.state}
        />
        <button type="submit">Create</button>
      </div>
    </HxForm>
  );
}
