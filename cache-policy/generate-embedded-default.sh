#!/bin/sh
# Regenerates Sources/PolicyFile/EmbeddedDefault.swift from cache-policy/default.yaml.
set -e
cd "$(dirname "$0")/.."
{
  echo '// Generated from cache-policy/default.yaml — edit that file, then regenerate'
  echo '// (a test checks the two are identical byte for byte).'
  echo
  echo 'extension PolicyFile {'
  echo '    /// The text of `cache-policy/default.yaml`, so the node runs without any file.'
  echo '    public static let embeddedDefault: String = #"""'
  cat cache-policy/default.yaml
  echo
  echo '"""#'
  echo '}'
} > Sources/PolicyFile/EmbeddedDefault.swift
