#!/usr/bin/env bash
# Regenerates what packaging/ ships from the argument parser's own descriptions, so they cannot
# drift from the flags: shell completions (bash, zsh, fish) and man pages (swift-argument-parser's
# generate-manual plugin). Run after changing a command or flag; a test compares the completions.
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --product outpost
swift build --product outpostctl
bin="$(swift build --show-bin-path)"
mkdir -p packaging/completions packaging/man
for tool in outpost outpostctl; do
    "$bin/$tool" --generate-completion-script bash > "packaging/completions/$tool.bash"
    "$bin/$tool" --generate-completion-script zsh > "packaging/completions/_$tool"
    "$bin/$tool" --generate-completion-script fish > "packaging/completions/$tool.fish"
done

# The plugin builds each executable and writes into its own work directory.
swift package plugin generate-manual --configuration debug
cp .build/plugins/GenerateManual/outputs/outpost/outpost.1 packaging/man/outpost.1
cp .build/plugins/GenerateManual/outputs/outpostctl/outpostctl.1 packaging/man/outpostctl.1
echo "packaging/completions and packaging/man regenerated"
