#!/usr/bin/env bash
# Refresh the vendored front-end files in webui/static/vendor/ from the npm registry.
#
# Each package is fetched with `npm pack NAME@VERSION` (a tarball, no node_modules, no install
# scripts run) into a temporary directory; only the files the pages load are copied, each package in
# its own folder beside its LICENSE. webui/static/vendor/VERSIONS.txt lists every package@version and
# the sha256 of every copied file. To upgrade, change a version below, run this script, check the
# pages, and commit the result.
#
# Usage: scripts/vendor_assets.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/webui/static/vendor"

BPMN_JS="bpmn-js@18.31.1"
DMN_JS="dmn-js@17.10.2"
CHART_JS="chart.js@4.6.1"
HTMX="htmx.org@2.0.11"

command -v npm >/dev/null || { echo "vendor_assets: npm is required" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# fetch NAME@VERSION -> prints the directory the tarball was unpacked into
fetch() {
    local spec="$1" dir tarball
    dir="$WORK/$(echo "$spec" | tr '/@' '__')"
    mkdir -p "$dir"
    tarball="$(cd "$dir" && npm pack --silent --ignore-scripts "$spec" 2>/dev/null | tail -n 1)"
    [ -f "$dir/$tarball" ] || { echo "vendor_assets: npm pack $spec failed" >&2; exit 1; }
    tar -xzf "$dir/$tarball" -C "$dir"
    echo "$dir/package"
}

# copy SRC_PACKAGE_DIR DEST_FOLDER FILE... (paths relative to the package; layout kept below dist/)
copy() {
    local src="$1" folder="$2"
    shift 2
    local file target
    for file in "$@"; do
        [ -f "$src/$file" ] || { echo "vendor_assets: $file missing from $folder" >&2; exit 1; }
        target="$DEST/$folder/${file#dist/}"
        mkdir -p "$(dirname "$target")"
        cp "$src/$file" "$target"
    done
}

# The font files a stylesheet references with url(...), relative to the stylesheet (data: URIs skipped).
css_urls() {
    grep -o 'url([^)]*)' "$1" | sed -e 's/^url(//' -e 's/)$//' -e "s/[\"']//g" -e 's/[?#].*$//' \
        | grep -v '^data:' | sort -u || true
}

# copy_css_urls SRC_PACKAGE_DIR DEST_FOLDER CSS... : the files each stylesheet references (fonts).
copy_css_urls() {
    local src="$1" folder="$2"
    shift 2
    local css base ref
    for css in "$@"; do
        base="$(dirname "$css")"
        while IFS= read -r ref; do
            [ -n "$ref" ] || continue
            copy "$src" "$folder" "$(realpath -m --relative-to="$src" "$src/$base/$ref")"
        done < <(css_urls "$src/$css")
    done
}

rm -rf "$DEST"
mkdir -p "$DEST"

# bpmn-js: the navigated viewer (case pages) and the modeler (designer); both define the global BpmnJS,
# so a page loads one of them.
pkg="$(fetch "$BPMN_JS")"
copy "$pkg" bpmn-js LICENSE \
    dist/bpmn-navigated-viewer.production.min.js \
    dist/bpmn-modeler.production.min.js \
    dist/assets/diagram-js.css \
    dist/assets/bpmn-js.css \
    dist/assets/bpmn-font/css/bpmn-embedded.css
copy_css_urls "$pkg" bpmn-js dist/assets/diagram-js.css dist/assets/bpmn-js.css dist/assets/bpmn-font/css/bpmn-embedded.css

# dmn-js: the modeler (the designer's decision tables); it defines the global DmnJS.
pkg="$(fetch "$DMN_JS")"
DMN_CSS="dist/assets/diagram-js.css dist/assets/dmn-js-shared.css dist/assets/dmn-js-drd.css
    dist/assets/dmn-js-decision-table.css dist/assets/dmn-js-decision-table-controls.css
    dist/assets/dmn-js-literal-expression.css dist/assets/dmn-font/css/dmn-embedded.css"
# shellcheck disable=SC2086  # the list is split on purpose
copy "$pkg" dmn-js LICENSE dist/dmn-modeler.production.min.js $DMN_CSS
# shellcheck disable=SC2086
copy_css_urls "$pkg" dmn-js $DMN_CSS

pkg="$(fetch "$CHART_JS")"
copy "$pkg" chart.js LICENSE.md dist/chart.umd.min.js

pkg="$(fetch "$HTMX")"
copy "$pkg" htmx.org LICENSE dist/htmx.min.js

{
    echo "# Vendored front-end files, refreshed by scripts/vendor_assets.sh from the npm registry."
    echo "# Licences: bpmn-js and dmn-js are MIT plus the bpmn.io watermark clause (keep .bjs-powered-by visible);"
    echo "# chart.js MIT; htmx.org 0BSD. Each package's LICENSE is beside its files."
    echo
    for spec in "$BPMN_JS" "$DMN_JS" "$CHART_JS" "$HTMX"; do
        echo "$spec"
    done
    echo
    echo "# sha256  path (relative to webui/static/vendor/)"
    (cd "$DEST" && find . -type f ! -name VERSIONS.txt | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum)
} > "$DEST/VERSIONS.txt"

echo "vendor_assets: $(find "$DEST" -type f | wc -l) files in $DEST ($(du -sh "$DEST" | cut -f1))"
