// Starts Redoc on the schema named by the page, as our CSP allows: system fonts (no Google Fonts),
// no search worker (it runs from a blob: URL), and Redocly's footer logo from the page instead of
// their CDN, so the reference asks nothing of any other host.
(function () {
  var container = document.getElementById("redoc-container");
  if (!container || !window.Redoc) return;
  var REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg";
  var EMPTY_SVG = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E";
  var local = function (url) { return String(url) === REDOCLY_LOGO ? EMPTY_SVG : url; };
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    return setAttribute.call(this, name, this.tagName === "IMG" && name === "src" ? local(value) : value);
  };
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true, enumerable: src.enumerable, get: src.get,
    set: function (value) { src.set.call(this, local(value)); },
  });
  var fonts = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
  window.Redoc.init(container.dataset.specUrl, {
    disableSearch: true,
    // Redoc's default greens, reds and greys fall just short of WCAG AA contrast: darkened.
    theme: {
      colors: {
        success: { main: "#17662a" },
        error: { main: "#a81a17" },
        text: { secondary: "#595959" },
      },
      typography: { fontFamily: fonts, headings: { fontFamily: fonts }, code: { color: "#a31515" } },
    },
  }, container);
})();
