// Reads an optimizer's per-parameter state into ParameterStates and writes it into a new optimizer (SGD, and AdamW with per-entry steps).
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Training;

/// <summary>
/// Moves optimizer state between TorchSharp optimizers and <see cref="ParameterStates"/> (plain arrays by parameter
/// key), exactly: float32 state round-trips through doubles unchanged. SGD: the momentum buffer (absent before the
/// first step). AdamW: exp_avg, exp_avg_sq and each entry's step count (<see cref="GrowingAdamW"/>; TorchSharp's own
/// AdamW can be read, with one count per parameter). A parameter whose state is all fresh is left out.
/// </summary>
internal static class OptimizerStateTransfer
{
    /// <summary>The state of every parameter of <paramref name="module"/> that <paramref name="optimizer"/> holds.</summary>
    public static ParameterStates Read(OptimizerHelper optimizer, NetworkModule module)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var states = ParameterStates.Empty;
        foreach (var (name, parameter, state) in Entries(optimizer, module))
        {
            switch (state)
            {
                case SGD.State sgd when sgd.momentum_buffer is not null:
                    states = states.With(name, [KeyValuePair.Create(ParameterStates.Momentum, WeightTensor.FromTorch(sgd.momentum_buffer))]);
                    break;
                case AdamW.State adam:
                    var steps = optimizer is GrowingAdamW growing ? growing.EntrySteps(parameter) : full(parameter.shape, (double)adam.step, ScalarType.Float64);
                    if (steps.numel() > 0 && steps.max().item<double>() == 0)
                        break; // never stepped: fresh
                    states = states.With(name,
                    [
                        KeyValuePair.Create(ParameterStates.ExpAvg, WeightTensor.FromTorch(adam.exp_avg)),
                        KeyValuePair.Create(ParameterStates.ExpAvgSq, WeightTensor.FromTorch(adam.exp_avg_sq)),
                        KeyValuePair.Create(ParameterStates.Step, WeightTensor.FromTorch(steps)),
                    ]);
                    break;
                case SGD.State:
                    break; // no momentum buffer yet: fresh
                default:
                    throw new InvalidOperationException($"Optimizer state of type {state.GetType().Name} cannot be carried across a growth point.");
            }
        }
        return states;
    }

    /// <summary>
    /// Writes <paramref name="states"/> into <paramref name="optimizer"/> (just created for <paramref name="module"/>);
    /// parameters without state keep the optimizer's fresh state.
    /// </summary>
    public static void Write(OptimizerHelper optimizer, NetworkModule module, ParameterStates states)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var written = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, parameter, state) in Entries(optimizer, module))
        {
            if (states[name] is not { } slots)
                continue;
            written.Add(name);
            Tensor Slot(string slot)
            {
                if (!slots.TryGetValue(slot, out var values))
                    throw new InvalidOperationException($"The optimizer state of '{name}' has no '{slot}' (it has {string.Join(", ", slots.Keys)}).");
                if (!values.Shape.SequenceEqual(parameter.shape))
                    throw new InvalidOperationException($"The optimizer state '{slot}' of '{name}' is shaped {values.ShapeText} but the parameter is [{string.Join(", ", parameter.shape)}].");
                return values.ToTorch(slot == ParameterStates.Step ? ScalarType.Float64 : parameter.dtype, parameter.device);
            }
            switch (state)
            {
                case SGD.State sgd:
                    sgd.momentum_buffer?.Dispose();
                    sgd.momentum_buffer = Slot(ParameterStates.Momentum).DetachFromDisposeScope();
                    break;
                case AdamW.State when optimizer is GrowingAdamW growing:
                    growing.Load(parameter, Slot(ParameterStates.ExpAvg), Slot(ParameterStates.ExpAvgSq), Slot(ParameterStates.Step));
                    break;
                default:
                    throw new InvalidOperationException($"Optimizer state cannot be written into {optimizer.GetType().Name}.");
            }
        }
        if (states.Keys.FirstOrDefault(k => !written.Contains(k)) is { } orphan)
            throw new InvalidOperationException($"The carried optimizer state names '{orphan}', which the grown network does not train.");
    }

    // Each parameter the optimizer holds, with its module key and its TorchSharp state (state_dict order: groups, then parameters).
    private static IEnumerable<(string Name, Parameter Parameter, OptimizerState State)> Entries(OptimizerHelper optimizer, NetworkModule module)
    {
        var names = module.named_parameters().ToDictionary(p => p.parameter.Handle, p => p.name);
        var parameters = optimizer.ParamGroups.Cast<ParamGroup>().SelectMany(g => g.Parameters).ToList();
        var states = optimizer.state_dict().State;
        if (states.Count != parameters.Count)
            throw new InvalidOperationException($"The optimizer holds {states.Count} states for {parameters.Count} parameters.");
        for (int i = 0; i < parameters.Count; i++)
        {
            if (!names.TryGetValue(parameters[i].Handle, out var name))
                throw new InvalidOperationException("The optimizer holds a parameter that is not the module's.");
            yield return (name, parameters[i], states[i]);
        }
    }
}
