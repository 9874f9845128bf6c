// Sorting and filtering of the findings table. The rows are in the page
// already (most expensive first); this only reorders and hides them.
(function () {
  "use strict";
  var table = document.getElementById("findings");
  var filter = document.getElementById("filter");
  var check = document.getElementById("check-filter");
  var count = document.getElementById("row-count");
  if (!table || !filter || !check || !count) {
    return;
  }
  var body = table.tBodies[0];
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var rows = Array.prototype.slice.call(body.querySelectorAll("tr[data-usd]")).map(function (tr, i) {
    var cells = Array.prototype.map.call(tr.cells, function (td) {
      return td.textContent.replace(/\s+/g, " ").trim();
    });
    var usd = tr.getAttribute("data-usd");
    return {
      tr: tr,
      index: i, // the rendered order breaks ties, so sorting is stable
      cells: cells,
      text: cells.join("\n").toLowerCase(),
      check: tr.getAttribute("data-check"),
      usd: usd === "" ? null : parseFloat(usd)
    };
  });
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  var usdColumn = headers.findIndex(function (th) { return th.getAttribute("data-type") === "usd"; });
  // The page arrives sorted by cost, most expensive first.
  var sortColumn = usdColumn;
  var sortDir = -1;

  function compare(col, dir) {
    return function (a, b) {
      var d;
      if (col === usdColumn) {
        // Unknown prices stay last in either direction.
        if (a.usd === null || b.usd === null) {
          d = (a.usd === null) - (b.usd === null);
          return d || a.index - b.index;
        }
        d = (a.usd - b.usd) * dir;
      } else {
        d = collator.compare(a.cells[col], b.cells[col]) * dir;
      }
      return d || a.index - b.index;
    };
  }

  function sortBy(col) {
    if (col === sortColumn) {
      sortDir = -sortDir;
    } else {
      sortColumn = col;
      sortDir = col === usdColumn ? -1 : 1; // money reads best largest first
    }
    rows.sort(compare(sortColumn, sortDir));
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) { frag.appendChild(r.tr); });
    body.appendChild(frag);
    headers.forEach(function (th, i) {
      if (i === sortColumn) {
        th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
      } else {
        th.removeAttribute("aria-sort");
      }
    });
  }

  function applyFilters() {
    var q = filter.value.trim().toLowerCase();
    var c = check.value;
    var shown = 0;
    rows.forEach(function (r) {
      var ok = (c === "" || r.check === c) && (q === "" || r.text.indexOf(q) !== -1);
      r.tr.hidden = !ok;
      if (ok) {
        shown++;
      }
    });
    count.textContent = String(shown);
  }

  headers.forEach(function (th, i) {
    var button = th.querySelector("button");
    if (button) {
      button.addEventListener("click", function () { sortBy(i); });
    }
  });
  filter.addEventListener("input", applyFilters);
  check.addEventListener("change", applyFilters);
  document.getElementById("controls").hidden = false;
  applyFilters(); // a filter the browser restored on reload
})();
