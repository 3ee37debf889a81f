// Analyzer findings the engine keeps on purpose, each with its reason.
using System.Diagnostics.CodeAnalysis;

[assembly: SuppressMessage("Naming", "CA1720:Identifier contains type name", Scope = "type", Target = "~T:Microsoft.ML.Morphism.Networks.Precision",
    Justification = "Float32/Float64 name precisions as TorchSharp's ScalarType does; they are persisted in saved models.")]
