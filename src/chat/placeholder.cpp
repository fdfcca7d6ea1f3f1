// Placeholder until the first role lands.
