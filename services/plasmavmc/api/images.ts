/** Image operations (the content upload is a REST-only streamed route, see index.ts). */
import { createImage, deleteImage, getImage, listImages, type CreateImageInput } from "../service-image.ts";
import { op, type PlasmavmcOperation } from "./operation.ts";

export const imageOperations: PlasmavmcOperation[] = [
  op<CreateImageInput>({ name: "CreateImage", method: "POST", path: "/v1/images", auth: true, response: "Image", summary: "Create an image: imported from url in the background, or awaiting PUT /v1/images/{id}/file", fields: { project: "string", name: "string", kind: "string", url: "string", sha256: "string", initrd: "string", cmdline: "string" }, required: ["name"], run: (s, c, i) => createImage(s, c, i) }),
  op<{ project?: string }>({ name: "ListImages", method: "GET", path: "/v1/images", auth: true, response: "ImageList", summary: "The project's images", fields: { project: "string" }, run: (s, c, i) => listImages(s, c, i) }),
  op<{ id: string }>({ name: "GetImage", method: "GET", path: "/v1/images/:id", auth: true, response: "Image", summary: "One image (state and progress)", fields: { id: "string" }, required: ["id"], run: (s, c, i) => getImage(s, c, i) }),
  op<{ id: string }>({ name: "DeleteImage", method: "DELETE", path: "/v1/images/:id", auth: true, response: "Empty", summary: "Delete an image no VM uses", fields: { id: "string" }, required: ["id"], run: (s, c, i) => deleteImage(s, c, i) }),
];
