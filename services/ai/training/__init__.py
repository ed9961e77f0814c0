"""Training for the ai service: rebuilds every ONNX model, its metadata and the report from the data in
`training/data/`. Run with `make train`. Never imported by the runtime package `ai_service`."""
