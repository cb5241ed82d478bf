// Small progressive enhancements shared by every page. No inline scripts: the CSP forbids them.
// (The data-confirm prompt lives in confirm.js, which runs before the page is parsed.)

// A region that scrolls sideways (a wide table, a chart, a code sample) must be reachable by
// keyboard (WCAG 2.1.1): give each one that overflows a tab stop and a name from its heading.
const SCROLL_REGIONS = ".table-wrap, .chart-wide, pre";
function labelScrollRegion(region) {
  const scrolls = region.scrollWidth > region.clientWidth + 1 || region.scrollHeight > region.clientHeight + 1;
  if (!scrolls || region.hasAttribute("tabindex")) return;
  region.tabIndex = 0;
  region.setAttribute("role", "region");
  const card = region.closest("section, .card, figure");
  const heading = card && card.querySelector("h2, h3, caption, figcaption");
  const name = (region.querySelector("caption") || heading || {}).textContent;
  region.setAttribute("aria-label", `${(name || "Table").trim()} (scrolls sideways)`);
}
function labelScrollRegions(root) {
  if (root.matches && root.matches(SCROLL_REGIONS)) labelScrollRegion(root);
  root.querySelectorAll(SCROLL_REGIONS).forEach(labelScrollRegion);
}
// A region may start to overflow after the first paint (a web font arriving, an SVG chart laid
// out late, rows swapped in): its content can widen while the region keeps its own size, so both
// the region and what it holds are watched.
const regionSizes = "ResizeObserver" in window
  ? new ResizeObserver((entries) => entries.forEach((entry) => {
      const region = entry.target.closest(SCROLL_REGIONS);
      if (region) labelScrollRegion(region);
    }))
  : null;
function watchScrollRegions(root) {
  labelScrollRegions(root);
  if (!regionSizes) return;
  root.querySelectorAll(SCROLL_REGIONS).forEach((region) => {
    regionSizes.observe(region);
    Array.from(region.children).forEach((child) => regionSizes.observe(child));
  });
}
document.addEventListener("DOMContentLoaded", () => watchScrollRegions(document));
window.addEventListener("load", () => labelScrollRegions(document));
window.addEventListener("resize", () => labelScrollRegions(document));
if (document.fonts && document.fonts.ready) document.fonts.ready.then(() => labelScrollRegions(document));
document.addEventListener("htmx:afterSettle", (event) => watchScrollRegions(event.target));

// A control that only HTMX can carry out (it has no plain-form fallback) is rendered disabled and
// enabled once HTMX has taken the page over: before that a click would do nothing at all.
if (window.htmx) {
  htmx.onLoad((root) => {
    const scope = root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches("[data-needs-htmx]")) scope.disabled = false;
    scope.querySelectorAll("[data-needs-htmx]").forEach((control) => { control.disabled = false; });
  });
}
