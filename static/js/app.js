// Small progressive enhancements shared by every page. No inline scripts: the CSP forbids them.
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-confirm]");
  if (target && !window.confirm(target.dataset.confirm)) {
    event.preventDefault();
  }
});

// A region that scrolls sideways (a wide table, a chart, a code sample) must be reachable by
// keyboard (WCAG 2.1.1): give each one that overflows a tab stop and a name from its heading.
function labelScrollRegions(root) {
  root.querySelectorAll(".table-wrap, .chart-wide, pre").forEach((region) => {
    const scrolls = region.scrollWidth > region.clientWidth + 1 || region.scrollHeight > region.clientHeight + 1;
    if (!scrolls || region.hasAttribute("tabindex")) return;
    region.tabIndex = 0;
    region.setAttribute("role", "region");
    const card = region.closest("section, .card, figure");
    const heading = card && card.querySelector("h2, h3, caption, figcaption");
    const name = (region.querySelector("caption") || heading || {}).textContent;
    region.setAttribute("aria-label", `${(name || "Table").trim()} (scrolls sideways)`);
  });
}
// A region may start to overflow after the first paint (an SVG chart laid out late, a font), so
// each one is watched for size changes rather than checked once.
const regionSizes = "ResizeObserver" in window
  ? new ResizeObserver((entries) => entries.forEach((entry) => labelScrollRegions(entry.target.parentElement || document)))
  : null;
function watchScrollRegions(root) {
  labelScrollRegions(root);
  if (regionSizes) root.querySelectorAll(".table-wrap, .chart-wide, pre").forEach((region) => regionSizes.observe(region));
}
document.addEventListener("DOMContentLoaded", () => watchScrollRegions(document));
window.addEventListener("load", () => labelScrollRegions(document));
window.addEventListener("resize", () => labelScrollRegions(document));
document.addEventListener("htmx:afterSettle", (event) => watchScrollRegions(event.target));
