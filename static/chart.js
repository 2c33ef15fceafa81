// The trade page's price chart: a readout of the point under the pointer, or chosen with the
// arrow keys while the chart has focus. Progressive enhancement: without it the readout shows
// the last point and the hidden table carries every point. Works on chart sections htmx swaps in.
(() => {
  const NS = "http://www.w3.org/2000/svg";
  const charts = new WeakMap();

  function chartOf(svg) {
    let chart = charts.get(svg);
    if (!chart) {
      const section = svg.closest(".pc");
      const points = (svg.dataset.pts || "").split(" ").filter(Boolean).map((p) =>
        p.split(",").map(Number)
      );
      const rows = [...section.querySelectorAll("table tr")].slice(1);
      const readout = section.querySelector(".readout");
      const cursor = document.createElementNS(NS, "g");
      cursor.setAttribute("class", "cur");
      const line = document.createElementNS(NS, "path");
      const dot = document.createElementNS(NS, "circle");
      dot.setAttribute("r", "4");
      cursor.append(line, dot);
      chart = { points, rows, readout, cursor, original: readout.innerHTML, index: -1 };
      charts.set(svg, chart);
    }
    return chart;
  }

  function show(svg, index) {
    const chart = chartOf(svg);
    const [x, y] = chart.points[index] || [];
    const row = chart.rows[index];
    if (x === undefined || !row) return;
    chart.index = index;
    chart.cursor.firstChild.setAttribute("d", `M${x} 24V206`);
    chart.cursor.lastChild.setAttribute("cx", x);
    chart.cursor.lastChild.setAttribute("cy", y);
    if (!chart.cursor.parentNode) svg.append(chart.cursor);
    const [time, price] = row.cells;
    chart.readout.replaceChildren(
      Object.assign(document.createElement("span"), { textContent: time.textContent }),
      " ",
      Object.assign(document.createElement("strong"), { textContent: price.textContent }),
    );
  }

  function reset(svg) {
    const chart = chartOf(svg);
    chart.cursor.remove();
    chart.readout.innerHTML = chart.original;
    chart.index = -1;
  }

  function nearest(points, x) {
    let best = 0;
    points.forEach(([px], n) => {
      if (Math.abs(px - x) < Math.abs(points[best][0] - x)) best = n;
    });
    return best;
  }

  const svgOf = (target) => target instanceof Element ? target.closest(".pc svg") : null;

  document.addEventListener("pointermove", (event) => {
    const svg = svgOf(event.target);
    if (!svg) return;
    const box = svg.getBoundingClientRect();
    const chart = chartOf(svg);
    if (!chart.points.length) return;
    show(svg, nearest(chart.points, ((event.clientX - box.left) * 600) / box.width));
  });
  document.addEventListener("pointerout", (event) => {
    const svg = svgOf(event.target);
    if (svg && !svg.contains(event.relatedTarget) && document.activeElement !== svg) reset(svg);
  });
  document.addEventListener("focusout", (event) => {
    const svg = svgOf(event.target);
    if (svg) reset(svg);
  });
  document.addEventListener("keydown", (event) => {
    const svg = svgOf(event.target);
    if (!svg) return;
    const chart = chartOf(svg);
    const last = chart.points.length - 1;
    const at = chart.index < 0 ? last : chart.index;
    const next = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: last }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    show(svg, Math.max(0, Math.min(last, next)));
  });
})();
