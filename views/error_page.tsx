/** The page shown for any error: the status, a sentence that says what happened, a way back. */
const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Please sign in",
  403: "Not allowed",
  404: "Page not found",
  408: "Request timed out",
  409: "Conflict",
  413: "Too large",
  422: "Please check your input",
  429: "Too many requests",
  500: "Something went wrong",
  503: "Temporarily unavailable",
};

export function errorTitle(status: number): string {
  return TITLES[status] ?? "Error";
}

export function ErrorPage(props: { status: number; message: string; requestId?: string }) {
  return (
    <section class="error-page">
      <h1>{errorTitle(props.status)}</h1>
      <p>{props.message}</p>
      {props.requestId && <p class="muted">Reference: {props.requestId}</p>}
      <p>
        <a href="/">Back to the home page</a>
      </p>
    </section>
  );
}
