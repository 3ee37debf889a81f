// Loads a model .zip with stock ML.NET in a process that never names a Microsoft.ML.Morphism type,
// scores a binary IDataView with it and saves the result, so tests can check a save -> load round trip.
//
// usage: Microsoft.ML.Morphism.ModelLoader <model.zip> <input.idv> <output.idv>
using Microsoft.ML;
using Microsoft.ML.Data;

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: Microsoft.ML.Morphism.ModelLoader <model.zip> <input.idv> <output.idv>");
    return 2;
}

var ml = new MLContext(seed: 1);
var model = ml.Model.Load(args[0], out var inputSchema);
Console.WriteLine($"loaded: {model.GetType().FullName}");
if (model is TransformerChain<ITransformer> chain)
{
    foreach (var transformer in chain)
        Console.WriteLine($"  {transformer.GetType().FullName}");
}

var input = ml.Data.LoadFromBinary(args[1]);
var scored = model.Transform(input);
using (var stream = File.Create(args[2]))
    ml.Data.SaveAsBinary(scored, stream, keepHidden: false);
return 0;
