// Copies training batches into reused native tensors, so feeding the network allocates nothing per batch or row.
using Microsoft.ML.Morphism.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Training;

/// <summary>
/// Holds one CPU input tensor and one label tensor sized for the largest batch seen, outside any
/// dispose scope, and copies each batch into them. The tensors handed out are views valid until the
/// next upload (the previous batch's forward and backward are finished by then).
/// </summary>
internal sealed class BatchUpload(TensorShape input, Device device) : IDisposable
{
    private Tensor? _features;
    private Tensor? _labels;

    public (Tensor X, Tensor Y) Upload(TrainingBatch batch)
    {
        if (_features is null || _features.shape[0] < batch.Count)
        {
            Dispose();
            _features = empty(input.WithBatch(batch.Count)).DetachFromDisposeScope();
            _labels = empty(batch.Count, ScalarType.Int64).DetachFromDisposeScope();
        }
        _features.data<float>().CopyFrom(batch.Features.AsSpan(0, batch.Count * batch.FeatureSize));
        _labels!.data<long>().CopyFrom(batch.Labels.AsSpan(0, batch.Count));
        var x = _features.narrow(0, 0, batch.Count);
        var y = _labels.narrow(0, 0, batch.Count);
        return device.type == DeviceType.CPU ? (x, y) : (x.to(device), y.to(device));
    }

    public void Dispose()
    {
        _features?.Dispose();
        _labels?.Dispose();
        _features = _labels = null;
    }
}
