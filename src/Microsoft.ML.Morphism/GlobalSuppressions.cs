// Analyzer findings the ML.NET face keeps on purpose, each with its reason.
using System.Diagnostics.CodeAnalysis;

[assembly: SuppressMessage("Performance", "CA1822:Mark members as static", Scope = "member", Target = "~M:Microsoft.ML.Morphism.MorphismCatalog.FindClassifier(Microsoft.ML.ITransformer)~Microsoft.ML.Morphism.MorphableImageClassifierTransformer",
    Justification = "A catalog operation, called as ml.Morphism().FindClassifier(model) like ML.NET's own catalogs.")]
[assembly: SuppressMessage("Performance", "CA1822:Mark members as static", Scope = "member", Target = "~M:Microsoft.ML.Morphism.MorphismCatalog.Grow(Microsoft.ML.ITransformer,Microsoft.ML.IDataView,Microsoft.ML.Morphism.GrowingImageClassifierTrainer.Options)~Microsoft.ML.ITransformer",
    Justification = "A catalog operation, called as ml.Morphism().Grow(model, data, options) like ML.NET's own catalogs.")]
