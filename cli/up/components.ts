/**
 * The components `photon up` starts, in start order. Each service adds its `Component` here as
 * it lands (chainfire first: the others keep their state in it; iam next: every other API
 * authenticates and authorises through it).
 */
import type { Component } from "../../lib/component.ts";
import { chainfireComponent } from "../../services/chainfire/component.ts";
import { iamComponent } from "../../services/iam/component.ts";
import { lightningstorComponent } from "../../services/lightningstor/component.ts";
import { novanetComponent } from "../../services/novanet/component.ts";
import { plasmavmcComponent } from "../../services/plasmavmc/component.ts";
import { withLocalAgents } from "./local-agents.ts";

/** Every component that exists in this build, in the order they must start. */
export const components: readonly Component[] = [chainfireComponent, iamComponent, lightningstorComponent, novanetComponent, withLocalAgents(plasmavmcComponent)];
