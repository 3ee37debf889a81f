// TorchSharp's SGD step, operation for operation, with every Scalar held until libtorch has read it.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Training;

/// <summary>
/// SGD with momentum, Nesterov and weight decay: TorchSharp's (same options and state, so optimizer-state carrying reads
/// and writes it as before), but its step passes explicit Scalars held by <c>using</c>. TorchSharp's own step converts
/// numbers to temporary Scalars (<c>add(param, alpha: weight_decay)</c>), whose raw handles libtorch reads while a collector
/// on another thread may already have finalized them; under load that failed at random inside <c>optimizer.step()</c>
/// ("Expected false to be true ... toFloat", c10/core/Scalar.h). See <see cref="Modules.HeldScalars"/>.
/// </summary>
internal sealed class HeldScalarSgd(IEnumerable<SGD.ParamGroup> groups, double lr, double momentum, bool nesterov)
    : SGD(groups, lr, momentum, nesterov: nesterov)
{
    /// <inheritdoc/>
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = group.Options;
        double momentum = options.momentum!.Value, dampening = options.dampening!.Value, weightDecay = options.weight_decay!.Value;
        double lr = options.LearningRate!.Value;
        bool nesterov = options.nesterov!.Value, maximize = options.maximize!.Value;
        using var decay = weightDecay.ToScalar();
        using var keep = momentum.ToScalar();
        using var fresh = (1 - dampening).ToScalar();
        using var rate = (maximize ? lr : -lr).ToScalar();
        foreach (var param in group.Parameters)
        {
            var state = (State)_state[param.Handle];
            var grad = param.grad;
            if (grad is null)
                continue;
            if (weightDecay != 0)
                grad = grad.add(param, alpha: decay);
            if (momentum != 0)
            {
                var buffer = state.momentum_buffer;
                if (buffer is null)
                    buffer = grad.clone().detach().DetachFromDisposeScope();
                else
                    buffer.mul_(keep).add_(grad, alpha: fresh);
                grad = nesterov ? grad.add(buffer, alpha: keep) : buffer;
                state.momentum_buffer = buffer;
            }
            param.add_(grad, alpha: rate);
        }
    }, closure);
}
