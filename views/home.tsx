/** The landing page: what Orion is, and the way in. */
export function HomePage(props: { startingCash: string }) {
  return (
    <>
      <section class="hero">
        <h1>Trade the market without risking a cent</h1>
        <p class="lead">
          Orion Assets Broker gives you a paper trading account funded with {props.startingCash}
          {" "}
          of demo cash. Watch live-moving quotes for US stocks, ETFs and crypto, place market, limit
          and stop orders, and follow your positions, fills and cash as a real broker would show
          them.
        </p>
        <p class="actions">
          <a class="button" href="/sign-up">Open a free demo account</a>
          <a href="/sign-in">I already have an account</a>
        </p>
      </section>
      <section class="features" aria-label="Why Orion">
        <article>
          <h2>Fast on any phone</h2>
          <p>
            Pages are small server-rendered HTML. They load in a blink and work without JavaScript.
          </p>
        </article>
        <article>
          <h2>Correct with money</h2>
          <p>Every cash movement is a ledger entry. Orders hold buying power until they fill.</p>
        </article>
        <article>
          <h2>Safe by default</h2>
          <p>Strong passwords, optional two-factor codes, and an audit trail of every sign-in.</p>
        </article>
      </section>
    </>
  );
}
